//! Fuzzing builds only (`cfg(fuzzing)`, set by `cargo fuzz`): remembers the results of the
//! pure, expensive modular arithmetic, so that a fuzz target spends its time on the protocol
//! logic instead of recomputing the same exponentiations for every input. The adversarial
//! targets draw their keys and exponents from seeded generators, so the same inputs recur
//! across runs; the first computation of each still runs the real code.
//!
//! Never compiled into a normal build: it keeps secret exponents in memory, and a hit is not
//! constant time. Every call site goes through the `memoize!` macro, which is the plain
//! expression outside fuzzing builds.

#[cfg(fuzzing)]
pub(crate) use memo::{remember, Key};

#[cfg(fuzzing)]
mod memo {
    use std::any::Any;
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// What the memo may hold before it starts again, in units of one 1536-bit number.
    const CAPACITY_UNITS: usize = 1 << 20;

    /// A memo key: the call site's tag, then the sizes and limbs of every input.
    pub(crate) struct Key(Vec<u64>);

    impl Key {
        /// A key for the call site `tag`.
        pub(crate) fn new(tag: u64) -> Self {
            Self(vec![tag])
        }

        /// Adds a number (a size or a flag).
        pub(crate) fn num(mut self, n: usize) -> Self {
            self.0.push(n as u64);
            self
        }

        /// Adds the limbs of an input, preceded by their count.
        pub(crate) fn limbs(mut self, limbs: &[u64]) -> Self {
            self.0.push(limbs.len() as u64);
            self.0.extend_from_slice(limbs);
            self
        }
    }

    struct Memo {
        values: HashMap<Vec<u64>, Box<dyn Any>>,
        units: usize,
    }

    thread_local! {
        static MEMO: RefCell<Memo> = RefCell::new(Memo { values: HashMap::new(), units: 0 });
    }

    /// The value remembered under `key`, else `compute()` (remembered, weighing `units`).
    pub(crate) fn remember<T: Clone + 'static>(
        key: Key,
        units: usize,
        compute: impl FnOnce() -> T,
    ) -> T {
        let hit = MEMO.with(|m| {
            m.borrow()
                .values
                .get(&key.0)
                .and_then(|v| v.downcast_ref::<T>())
                .cloned()
        });
        if let Some(value) = hit {
            return value;
        }
        let value = compute();
        MEMO.with(|m| {
            let mut m = m.borrow_mut();
            if m.units + units > CAPACITY_UNITS {
                m.values.clear();
                m.units = 0;
            }
            m.units += units;
            m.values.insert(key.0, Box::new(value.clone()));
        });
        value
    }
}

/// `memoize!(key, units, expr)`: `expr`, remembered under `key` in fuzzing builds; just
/// `expr` (the key is not even built) otherwise.
macro_rules! memoize {
    ($key:expr, $units:expr, $compute:expr) => {{
        #[cfg(fuzzing)]
        {
            $crate::crypto::fuzz_memo::remember($key, $units, || $compute)
        }
        #[cfg(not(fuzzing))]
        {
            $compute
        }
    }};
}
pub(crate) use memoize;
