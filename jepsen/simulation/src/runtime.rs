//! [`SimRuntime`]: the async runtime openraft runs on in the simulation.
//! Tokio (one thread, paused clock) with two inputs taken from the seed
//! instead of the OS:
//!
//! - random numbers (election timeouts, tick jitter): openraft's
//!   [`DeterministicRng`] draws them from the seed (`raft::TypeConfig`'s
//!   runtime draws them from the OS);
//! - the order in which tasks waiting on one watch channel wake:
//!   [`SimWatch`] instead of Tokio's `watch`, which picks among its wait
//!   lists with Tokio's OS-seeded generator (see `watch.rs`).
//!
//! Everything else is [`DeterministicRng`] over openraft's Tokio runtime.

use std::cell::Cell;
use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use openraft_rt::deterministic_rng::DeterministicRng;
use openraft_rt::task_local::TaskLocalFuture;
use openraft_rt::{AsyncRuntime, OptionalSend};
use openraft_rt_tokio::TokioRuntime;

use crate::watch::SimWatch;

type Seeded = DeterministicRng<TokioRuntime>;

/// Tokio with its random numbers and watch wake-ups taken from the seed.
#[derive(Debug)]
pub struct SimRuntime {
    inner: Seeded,
}

impl SimRuntime {
    /// Runs `future` with `seed` as the seed of every random number drawn
    /// through this runtime (by `future` and the tasks it spawns).
    pub fn scope<F: Future>(seed: u64, future: F) -> TaskLocalFuture<Cell<u64>, F> {
        Seeded::scope(seed, future)
    }
}

impl AsyncRuntime for SimRuntime {
    type JoinError = <Seeded as AsyncRuntime>::JoinError;
    type JoinHandle<T: OptionalSend + 'static> = <Seeded as AsyncRuntime>::JoinHandle<T>;
    type Sleep = <Seeded as AsyncRuntime>::Sleep;
    type Instant = <Seeded as AsyncRuntime>::Instant;
    type TimeoutError = <Seeded as AsyncRuntime>::TimeoutError;
    type Timeout<R, T: Future<Output = R> + OptionalSend> = <Seeded as AsyncRuntime>::Timeout<R, T>;
    type ThreadLocalRng = <Seeded as AsyncRuntime>::ThreadLocalRng;

    fn spawn<T>(future: T) -> Self::JoinHandle<T::Output>
    where
        T: Future + OptionalSend + 'static,
        T::Output: OptionalSend + 'static,
    {
        Seeded::spawn(future)
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        Seeded::sleep(duration)
    }

    fn sleep_until(deadline: Self::Instant) -> Self::Sleep {
        Seeded::sleep_until(deadline)
    }

    fn timeout<R, F: Future<Output = R> + OptionalSend>(
        duration: Duration,
        future: F,
    ) -> Self::Timeout<R, F> {
        Seeded::timeout(duration, future)
    }

    fn timeout_at<R, F: Future<Output = R> + OptionalSend>(
        deadline: Self::Instant,
        future: F,
    ) -> Self::Timeout<R, F> {
        Seeded::timeout_at(deadline, future)
    }

    fn is_panic(join_error: &Self::JoinError) -> bool {
        Seeded::is_panic(join_error)
    }

    fn thread_rng() -> Self::ThreadLocalRng {
        Seeded::thread_rng()
    }

    type Mpsc = <Seeded as AsyncRuntime>::Mpsc;
    type Watch = SimWatch;
    type Oneshot = <Seeded as AsyncRuntime>::Oneshot;
    type Mutex<T: OptionalSend + 'static> = <Seeded as AsyncRuntime>::Mutex<T>;

    fn new(threads: usize) -> Self {
        SimRuntime {
            inner: Seeded::new(threads),
        }
    }

    fn block_on<F, T>(&mut self, future: F) -> T
    where
        F: Future<Output = T>,
    {
        self.inner.block_on(future)
    }
}
