//! The search against a brute-force checker that tries every order: on thousands of small
//! random histories, with open and optional operations, both must agree. The brute force
//! shares nothing with the search but the model: no cache, no pruning, no event list.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

/// Whether some order of `ops` respects real time (an operation that returned before
/// another was invoked comes first) and the model; open operations may be left out, and so
/// may those marked `optional`.
fn brute_force<M: Model>(model: &M, ops: &[ModelOp<M>], optional: &[bool]) -> bool {
    fn extend<M: Model>(model: &M, ops: &[ModelOp<M>], optional: &[bool], done: &mut [bool], state: &M::State) -> bool {
        let pending = |done: &[bool], op: usize| !done[op] && ops[op].ret.is_some();
        if !(0..ops.len()).any(|op| pending(done, op)) {
            return true;
        }
        for next in 0..ops.len() {
            let before = |op: usize| ops[op].ret.is_some_and(|ret| ret < ops[next].call);
            let blocked = (0..ops.len()).any(|op| pending(done, op) && before(op));
            if done[next] || blocked {
                continue;
            }
            done[next] = true;
            let stepped = model.step(state, &ops[next].input, &ops[next].output);
            if stepped.is_some_and(|after| extend(model, ops, optional, done, &after))
                || (optional[next] && extend(model, ops, optional, done, state))
            {
                return true;
            }
            done[next] = false;
        }
        false
    }
    extend(model, ops, optional, &mut vec![false; ops.len()], &model.init())
}

/// The search's verdict, with `optional` operations skippable.
fn searched<M: Model>(model: &M, ops: &[ModelOp<M>], optional: &[bool]) -> bool {
    let found = Search::new(model, ops, MEMORY).with_skippable(optional.to_vec()).run(u64::MAX, MEMORY);
    match found {
        Some(Found::Linearizable) => true,
        Some(Found::Violation) => false,
        other => panic!("a small history is decided, not {other:?}"),
    }
}

/// Small histories from the generator, with outputs scrambled at random.
fn small_histories(workload: Workload, count: u64) -> Vec<(String, Format)> {
    (0..count)
        .map(|seed| {
            let clients = 2 + (seed % 3) as u32;
            let generated = generate(&spec(workload, clients, 7, 0.25, None, seed));
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let text = generated.text.lines().map(|line| scramble(line, &mut rng)).collect::<Vec<_>>().join("\n");
            (text, generated.format)
        })
        .collect()
}

/// A completed read's or get's value replaced, now and then, by another.
fn scramble(line: &str, rng: &mut ChaCha8Rng) -> String {
    if !rng.gen_bool(0.3) {
        return line.to_string();
    }
    if let Some(prefix) = line.strip_suffix(|c: char| c.is_ascii_digit()).filter(|p| p.ends_with(":ok\t:read\t")) {
        return format!("{prefix}{}", rng.gen_range(0..3));
    }
    if line.contains(":type :ok, :f :get") {
        if let Some((head, _)) = line.rsplit_once(":value ") {
            let value = ["\"\"", "\"x 0 0 y\"", "\"x 1 0 y\"", "\"x 0 0 yx 1 0 y\""][rng.gen_range(0..4)];
            return format!("{head}:value {value}}}");
        }
    }
    line.to_string()
}

fn agree<M: Model>(model: &M, ops: Vec<ModelOp<M>>, rng: &mut ChaCha8Rng, text: &str) -> bool {
    let none = vec![false; ops.len()];
    let linearizable = brute_force(model, &ops, &none);
    assert_eq!(searched(model, &ops, &none), linearizable, "{text}");
    let optional: Vec<bool> = ops.iter().map(|op| op.ret.is_some() && rng.gen_bool(0.3)).collect();
    assert_eq!(searched(model, &ops, &optional), brute_force(model, &ops, &optional), "{text}\n{optional:?}");
    linearizable
}

#[test]
fn the_search_agrees_with_brute_force_on_small_register_histories() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut verdicts = [0; 2];
    for (text, format) in small_histories(Workload::CasRegister { values: 3, edn: false }, 3000) {
        let calls = pairing::pair(formats::read_events(&text, format).expect("parses")).expect("pairs");
        for semantics in Semantics::ALL {
            let ops = convert::ops_of(&calls, |call| convert::register_op(call, semantics)).expect("converts");
            verdicts[usize::from(agree(&CasRegister, ops, &mut rng, &text))] += 1;
        }
    }
    assert!(verdicts.iter().all(|&count| count > 500), "both verdicts are common: {verdicts:?}");
}

#[test]
fn the_search_agrees_with_brute_force_on_small_string_kv_histories() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut verdicts = [0; 2];
    for (text, format) in small_histories(Workload::StringKv { keys: 1 }, 3000) {
        let calls = pairing::pair(formats::read_events(&text, format).expect("parses")).expect("pairs");
        let ops = convert::ops_of(&calls, convert::string_kv_op).expect("converts");
        verdicts[usize::from(agree(&StringKv, ops, &mut rng, &text))] += 1;
    }
    assert!(verdicts.iter().all(|&count| count > 300), "both verdicts are common: {verdicts:?}");
}
