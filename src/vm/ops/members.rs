//! Member opcodes: `GET_MEMBER`, `SET_MEMBER` (of maps, modules and contract objects), `THIS`,
//! `EMIT` (CONTRACTS.md §4.3, §7; MODULES.md).

use super::super::contract;
use super::super::error::VmError;
use super::super::interp::{Vm, internal, member_get, member_set, module_read, release, take, undefined};
use super::super::modules;
use super::super::program::{Program, Proto};
use super::super::value::{Obj, Value};
use super::Fault;

impl Vm {
    /// `GET_MEMBER`: replaces the object at `at` by its member named by constant `name`. Returns
    /// the gas the access costs beyond the instruction's (a contract instance's storage read).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(in crate::vm) fn op_get_member(
        &mut self,
        program: &Program,
        proto: &Proto,
        below: &[Value],
        fr: &mut [Value],
        base: usize,
        at: u32,
        name: u32,
    ) -> Result<u64, Fault> {
        let key = proto.consts.get(name as usize).cloned().unwrap_or(Value::Null);
        if let (Some(Value::Module(m)), Value::Str(k)) = (fr.get(at as usize), &key) {
            let v = module_read(program, &m.clone(), k, below, fr, base).map_err(|e| (at + 1, e))?;
            if let Some(obj) = fr.get_mut(at as usize) {
                *obj = v;
            }
            return Ok(0);
        }
        if let (Some(Value::Obj(obj)), Value::Str(key)) = (fr.get(at as usize), &key) {
            let obj = obj.clone();
            let extra = if matches!(&*obj, Obj::Instance(_)) { contract::MEMBER_GET_EXTRA_GAS } else { 0 };
            let this = self.running_this();
            let v = contract::get_member(&mut self.ledger.contracts, &obj, key, this).map_err(|e| (at + 1, e))?;
            if let Some(slot) = fr.get_mut(at as usize) {
                *slot = v;
            }
            Ok(extra)
        } else {
            let Some(obj) = fr.get_mut(at as usize) else { return Err((at, internal("stack underflow"))) };
            *obj = member_get(obj, &key).map_err(|e| (at + 1, e))?;
            Ok(0)
        }
    }

    /// `SET_MEMBER`: stores the value at `at + 1` as the member named by constant `name` of the
    /// object at `at`. Returns the gas beyond the instruction's (a contract storage write).
    #[inline(always)]
    pub(in crate::vm) fn op_set_member(
        &mut self,
        program: &Program,
        proto: &Proto,
        fr: &mut [Value],
        at: u32,
        name: u32,
    ) -> Result<u64, VmError> {
        let key = proto.consts.get(name as usize).cloned().unwrap_or(Value::Null);
        let v = take(fr, at + 1);
        let obj = take(fr, at);
        if let (Value::Module(m), Value::Str(k)) = (&obj, &key) {
            return Err(modules::assign_error(&program.modules, m, k));
        }
        if let (Value::Obj(obj), Value::Str(key)) = (&obj, &key) {
            let extra = if matches!(&**obj, Obj::Instance(_)) { contract::MEMBER_SET_EXTRA_GAS } else { 0 };
            let this = self.running_this();
            contract::set_member(&mut self.ledger.contracts, obj, key, v, this)?;
            Ok(extra)
        } else {
            member_set(&obj, &key, v)?;
            Ok(0)
        }
    }

    /// `THIS`: the running frame's instance at `dst`.
    #[inline(always)]
    pub(in crate::vm) fn op_this(&mut self, fr: &mut [Value], dst: u32) -> Result<(), VmError> {
        match self.ledger.contracts.instance(self.running_this()).cloned() {
            Some(inst) => {
                super::vars::op_put(fr, dst, Value::Obj(inst));
                Ok(())
            }
            None => Err(undefined("this")),
        }
    }

    /// `EMIT`: records event `name` (a constant) with the `argc` arguments from `at` on.
    #[inline(always)]
    pub(in crate::vm) fn op_emit(
        &mut self,
        proto: &Proto,
        fr: &mut [Value],
        at: u32,
        name: u32,
        argc: u16,
    ) -> Result<(), Fault> {
        let o = at + u32::from(argc);
        let Some(Value::Str(event)) = proto.consts.get(name as usize) else {
            return Err((o, internal("event name is not a string")));
        };
        let args = fr.get(at as usize..o as usize).unwrap_or(&[]);
        let this = self.running_this();
        self.ledger.contracts.emit(event, this, args).map_err(|e| (o, e))?;
        if let Some(dead) = fr.get_mut(at as usize..o as usize) {
            release(dead);
        }
        Ok(())
    }
}

/// `NEW_ENTITY`'s construction: the entity of the type at `at` with the `n` key/value pairs
/// above it (the arm then runs its code defaults, which are calls).
#[inline(always)]
pub(in crate::vm) fn op_new_entity(
    proto: &Proto,
    fr: &mut [Value],
    at: u32,
    name: u32,
    n: u16,
) -> Result<contract::NewEntity, Fault> {
    let Some(Value::Str(written)) = proto.consts.get(name as usize) else {
        return Err((at + 1 + 2 * u32::from(n), internal("entity name is not a string")));
    };
    let ty = take(fr, at);
    let mut given = Vec::with_capacity(n as usize);
    for k in 0..u32::from(n) {
        let key = take(fr, at + 1 + 2 * k);
        let v = take(fr, at + 2 + 2 * k);
        if let Value::Str(key) = key {
            given.push((key, v));
        }
    }
    contract::construct(&ty, written, given).map_err(|e| (at, e))
}
