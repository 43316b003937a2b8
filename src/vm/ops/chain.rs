//! Blockchain opcodes: `STATE_GET`, `STATE_SET`, `TX_BEGIN`, `TX_COMMIT`, `TX_REVERT`, `HASH`,
//! `VERIFY` (CONTRACTS.md, spec ch. 12).

use std::rc::Rc;

use super::super::chain;
use super::super::error::{ErrorKind, VmError};
use super::super::hooks::VmEvent;
use super::super::interp::{Vm, put, state_key, take};
use super::super::value::Value;

impl Vm {
    /// `STATE_GET`: replaces the key at `at` by the state's value for it (null if absent).
    #[inline(always)]
    pub(in crate::vm) fn op_state_get(&mut self, fr: &mut [Value], at: u32, gas: u64) -> Result<(), VmError> {
        let key = take(fr, at);
        let key = state_key(&key)?;
        let v = self.ledger.get(&key).map(chain::from_data).unwrap_or(Value::Null);
        if let Some(obs) = self.observer.as_mut() {
            obs.event(gas, &VmEvent::StateAccess { write: false, key: &key, depth: self.ledger.depth() });
        }
        if let Some(slot) = fr.get_mut(at as usize) {
            put(slot, v);
        }
        Ok(())
    }

    /// `STATE_SET`: stores the value at `at + 1` under the key at `at`.
    #[inline(always)]
    pub(in crate::vm) fn op_state_set(&mut self, fr: &mut [Value], at: u32, gas: u64) -> Result<(), VmError> {
        let v = take(fr, at + 1);
        let key = take(fr, at);
        let key = state_key(&key)?;
        let data = chain::to_state_data(&v)?;
        if let Some(obs) = self.observer.as_mut() {
            obs.event(gas, &VmEvent::StateAccess { write: true, key: &key, depth: self.ledger.depth() });
        }
        self.ledger.store(key, data)
    }

    /// `TX_BEGIN`: opens a nested transaction.
    #[inline(always)]
    pub(in crate::vm) fn op_tx_begin(&mut self, gas: u64) -> Result<(), VmError> {
        self.ledger.begin()?;
        if let Some(obs) = self.observer.as_mut() {
            obs.event(gas, &VmEvent::TxBegin { depth: self.ledger.depth() });
        }
        Ok(())
    }

    /// `TX_COMMIT`: commits the innermost transaction, unless it belongs to a running call.
    #[inline(always)]
    pub(in crate::vm) fn op_tx_commit(&mut self, gas: u64) -> Result<(), VmError> {
        if self.call_owns_innermost_tx() {
            return Err(VmError::new(ErrorKind::Transaction, "TX_COMMIT without active transaction"));
        }
        let keys = self.ledger.commit()?;
        if let Some(obs) = self.observer.as_mut() {
            obs.event(gas, &VmEvent::TxCommit { depth: self.ledger.depth(), keys: &keys });
        }
        Ok(())
    }

    /// `TX_REVERT`: reverts the innermost transaction, unless it belongs to a running call.
    #[inline(always)]
    pub(in crate::vm) fn op_tx_revert(&mut self, gas: u64) -> Result<(), VmError> {
        if self.call_owns_innermost_tx() {
            return Err(VmError::new(ErrorKind::Transaction, "TX_REVERT without active transaction"));
        }
        let keys = self.ledger.revert()?;
        if let Some(obs) = self.observer.as_mut() {
            obs.event(gas, &VmEvent::TxRevert { depth: self.ledger.depth(), keys: &keys });
        }
        Ok(())
    }
}

/// `HASH`: replaces the value at `at` by its hash (hex).
#[inline(always)]
pub(in crate::vm) fn op_hash(fr: &mut [Value], at: u32) -> Result<(), VmError> {
    let v = take(fr, at);
    let hex = chain::hash_value(&v)?;
    if let Some(slot) = fr.get_mut(at as usize) {
        put(slot, Value::Str(Rc::new(hex)));
    }
    Ok(())
}

/// `VERIFY`: fails with the message at `at + 1` unless the condition at `at` holds.
#[inline(always)]
pub(in crate::vm) fn op_verify(fr: &mut [Value], at: u32) -> Result<(), VmError> {
    let msg = take(fr, at + 1);
    let cond = take(fr, at);
    if cond.truthy() {
        return Ok(());
    }
    let text = match &msg {
        Value::Str(s) => s.to_string(),
        other => chain::canon_value(other),
    };
    Err(VmError::new(ErrorKind::VerifyFailed, format!("VERIFY failed: {text}")))
}
