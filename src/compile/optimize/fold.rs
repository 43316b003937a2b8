//! Constant folding: operators applied to constants, and conditional jumps on constants.
//! Folding uses the VM's own operator functions, so a folded result is exactly what the
//! running program would have computed; an operation that would fail is left for run time.

use std::collections::HashMap;
use std::rc::Rc;

use super::PassStats;
use super::cfg::{jump_targets, straight};
use crate::bytecode::chunk::{Chunk, Const};
use crate::bytecode::op::Op;
use crate::vm::value::{self, Value};

/// Largest string a fold may create (bigger results stay run-time work).
const MAX_FOLDED_STRING: usize = 4096;

fn const_value(chunk: &Chunk, op: &Op) -> Option<Value> {
    Some(match *op {
        Op::Int { value } => Value::Int(value as i64),
        Op::Null => Value::Null,
        Op::True => Value::Bool(true),
        Op::False => Value::Bool(false),
        Op::Const { idx } => match chunk.consts.get(idx as usize)? {
            Const::Int(i) => Value::Int(*i),
            Const::Float(f) => Value::Float(*f),
            Const::Str(s) => Value::Str(Rc::new(s.clone())),
        },
        _ => return None,
    })
}

/// The instruction that pushes `v`, adding a pool entry if needed.
fn push_op(chunk: &mut Chunk, pool: &mut HashMap<ConstKey, u32>, v: &Value) -> Option<Op> {
    let konst = match v {
        Value::Null => return Some(Op::Null),
        Value::Bool(true) => return Some(Op::True),
        Value::Bool(false) => return Some(Op::False),
        Value::Int(i) => match i32::try_from(*i) {
            Ok(value) => return Some(Op::Int { value }),
            Err(_) => Const::Int(*i),
        },
        Value::Float(f) => Const::Float(*f),
        Value::Str(s) if s.len() <= MAX_FOLDED_STRING => Const::Str(s.to_string()),
        _ => return None,
    };
    let key = const_key(&konst);
    let idx = match pool.get(&key) {
        Some(&i) => i,
        None => {
            chunk.consts.push(konst);
            let i = u32::try_from(chunk.consts.len() - 1).ok()?;
            pool.insert(key, i);
            i
        }
    };
    Some(Op::Const { idx })
}

/// Identity of a constant for deduplication (floats by bit pattern).
#[derive(Hash, PartialEq, Eq)]
enum ConstKey {
    Int(i64),
    Float(u64),
    Str(String),
}

fn const_key(c: &Const) -> ConstKey {
    match c {
        Const::Int(i) => ConstKey::Int(*i),
        Const::Float(f) => ConstKey::Float(f.to_bits()),
        Const::Str(s) => ConstKey::Str(s.clone()),
    }
}

fn binary(op: Op, a: &Value, b: &Value) -> Option<Value> {
    let max = MAX_FOLDED_STRING;
    let res = match op {
        Op::Add => value::add(a, b, max),
        Op::Sub => value::sub(a, b),
        Op::Mul => value::mul(a, b, max),
        Op::Div => value::div(a, b),
        Op::Mod => value::modulo(a, b),
        Op::Pow => value::pow(a, b),
        Op::Eq => value::values_equal(a, b).map(Value::Bool),
        Op::Ne => value::values_equal(a, b).map(|e| Value::Bool(!e)),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            use std::cmp::Ordering::*;
            let ord = value::compare(a, b);
            ord.map(|o| {
                Value::Bool(match (op, o) {
                    (_, None) => false,
                    (Op::Lt, Some(o)) => o == Less,
                    (Op::Le, Some(o)) => o != Greater,
                    (Op::Gt, Some(o)) => o == Greater,
                    (_, Some(o)) => o != Less,
                })
            })
        }
        _ => return None,
    };
    res.ok()
}

/// Runs one folding sweep over `chunk`.
pub fn run(chunk: &mut Chunk) -> PassStats {
    let mut stats = PassStats::new("fold");
    let targets = jump_targets(chunk);
    let mut pool: HashMap<ConstKey, u32> = HashMap::new();
    for (i, c) in chunk.consts.iter().enumerate() {
        pool.entry(const_key(c)).or_insert(i as u32);
    }
    let mut pc = 0;
    while pc < chunk.code.len() {
        // K1 K2 binop  ->  K
        if pc + 2 < chunk.code.len()
            && straight(&targets, pc, 3)
            && let (Some(a), Some(b)) = (const_value(chunk, &chunk.code[pc]), const_value(chunk, &chunk.code[pc + 1]))
        {
            let op = chunk.code[pc + 2];
            if let Some(v) = binary(op, &a, &b)
                && let Some(push) = push_op(chunk, &mut pool, &v)
            {
                chunk.code[pc] = push;
                chunk.spans[pc] = chunk.spans[pc + 2];
                chunk.code[pc + 1] = Op::Nop;
                chunk.code[pc + 2] = Op::Nop;
                stats.folded += 1;
                pc += 3;
                continue;
            }
        }
        // K unop  ->  K ;  K jump-if  ->  jump or nothing
        if pc + 1 < chunk.code.len()
            && straight(&targets, pc, 2)
            && let Some(a) = const_value(chunk, &chunk.code[pc])
        {
            let next = chunk.code[pc + 1];
            let folded = match next {
                Op::Neg => value::neg(&a).ok(),
                Op::Not => Some(Value::Bool(!a.truthy())),
                Op::ToBool => Some(Value::Bool(a.truthy())),
                _ => None,
            };
            if let Some(v) = folded
                && let Some(push) = push_op(chunk, &mut pool, &v)
            {
                chunk.code[pc] = push;
                chunk.spans[pc] = chunk.spans[pc + 1];
                chunk.code[pc + 1] = Op::Nop;
                stats.folded += 1;
                pc += 2;
                continue;
            }
            let jump = match next {
                Op::JumpIfFalse { target } => Some((target, !a.truthy())),
                Op::JumpIfTrue { target } => Some((target, a.truthy())),
                _ => None,
            };
            if let Some((target, taken)) = jump {
                chunk.code[pc] = Op::Nop;
                chunk.code[pc + 1] = if taken { Op::Jump { target } } else { Op::Nop };
                stats.branches_resolved += 1;
                pc += 2;
                continue;
            }
        }
        pc += 1;
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::span::Span;

    fn chunk(code: Vec<Op>) -> Chunk {
        let mut c = Chunk::new(None, true, Span::new(0, 0));
        c.spans = (0..code.len()).map(|i| Span::new(i, i + 1)).collect();
        c.code = code;
        c
    }

    #[test]
    fn a_binary_operator_on_constants_becomes_one_push_with_the_operator_span() {
        let mut c = chunk(vec![Op::Int { value: 2 }, Op::Int { value: 3 }, Op::Mul, Op::Halt]);
        let stats = run(&mut c);
        assert_eq!(stats.folded, 1);
        assert_eq!(c.code, vec![Op::Int { value: 6 }, Op::Nop, Op::Nop, Op::Halt]);
        assert_eq!(c.spans[0], Span::new(2, 3), "the folded value keeps the operator's span");
    }

    #[test]
    fn results_outside_i32_and_strings_go_to_the_pool_once() {
        let mut c = chunk(vec![
            Op::Int { value: 1 << 20 },
            Op::Int { value: 1 << 20 },
            Op::Mul,
            Op::Int { value: 1 << 20 },
            Op::Int { value: 1 << 20 },
            Op::Mul,
            Op::Halt,
        ]);
        run(&mut c);
        assert_eq!(c.consts, vec![Const::Int(1 << 40)]);
        assert_eq!(c.code[0], Op::Const { idx: 0 });
        assert_eq!(c.code[3], Op::Const { idx: 0 });
    }

    #[test]
    fn an_operation_that_would_fail_is_left_for_run_time() {
        let code = vec![Op::Int { value: 1 }, Op::Int { value: 0 }, Op::Div, Op::Halt];
        let mut c = chunk(code.clone());
        let stats = run(&mut c);
        assert_eq!((stats.folded, c.code), (0, code));
        let mut c = chunk(vec![Op::Int { value: 10 }, Op::Int { value: 30 }, Op::Pow, Op::Halt]);
        assert_eq!(run(&mut c).folded, 0, "integer overflow is a run-time error");
    }

    #[test]
    fn unary_operators_and_comparisons_fold() {
        let mut c = chunk(vec![
            Op::Int { value: 5 },
            Op::Neg,
            Op::True,
            Op::Not,
            Op::Int { value: 1 },
            Op::Int { value: 2 },
            Op::Lt,
        ]);
        let stats = run(&mut c);
        assert_eq!(stats.folded, 3);
        assert_eq!(c.code, vec![Op::Int { value: -5 }, Op::Nop, Op::False, Op::Nop, Op::True, Op::Nop, Op::Nop]);
    }

    #[test]
    fn constant_conditions_become_a_jump_or_nothing() {
        let mut c =
            chunk(vec![Op::True, Op::JumpIfFalse { target: 4 }, Op::False, Op::JumpIfFalse { target: 4 }, Op::Halt]);
        let stats = run(&mut c);
        assert_eq!(stats.branches_resolved, 2);
        assert_eq!(c.code, vec![Op::Nop, Op::Nop, Op::Nop, Op::Jump { target: 4 }, Op::Halt]);
    }

    #[test]
    fn nothing_folds_across_a_jump_target() {
        // pc 1 is a jump target: another path may arrive there with a different value below.
        let code = vec![Op::Int { value: 1 }, Op::Int { value: 2 }, Op::Add, Op::Jump { target: 1 }];
        let mut c = chunk(code.clone());
        assert_eq!(run(&mut c).folded, 0);
        assert_eq!(c.code, code);
    }
}
