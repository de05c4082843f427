//! State that belongs to one process. After `fork()` the child runs only the thread that
//! forked: a lock another thread held stays held there, and a fetch another thread ran never
//! ends. So state that threads share behind a lock, or that a background task completes,
//! is kept per process, keyed by pid and fork count: the first use in a child makes the
//! child its own value and never touches the parent's (which is leaked, not dropped, since
//! dropping it could wait on the same dead threads). Nothing is taken while forking (the
//! `pthread_atfork` handler only counts), so a fork at any instant leaves the child a
//! usable state.
//!
//! Why both keys: the pid alone would let a grandchild that got its grandparent's pid back
//! (the grandparent gone, the pid reused) take the grandparent's value; the count alone
//! misses a fork that skips `pthread_atfork` handlers (a raw `clone`).

use arc_swap::ArcSwapOption;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};

/// Forks into this process counted by the `pthread_atfork` child handler, once
/// [`watch_forks`] registered it: a value read before a fork differs in the child.
static FORKS: AtomicU64 = AtomicU64::new(0);

extern "C" fn forked_child() {
    // Async-signal-safe: one atomic add.
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// Starts counting forks (once per process). For state so hot that a `getpid()` on each
/// use would cost more than the use: it compares [`fork_generation`] instead.
pub(crate) fn watch_forks() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: registers a handler that only does an atomic add; no handler is removed.
        #[cfg(unix)]
        unsafe {
            libc::pthread_atfork(None, None, Some(forked_child));
        }
    });
}

/// A number that changes in a child after `fork()` (once [`watch_forks`] ran).
pub(crate) fn fork_generation() -> u64 {
    FORKS.load(Ordering::Relaxed)
}

/// A value of type `T` for the current process, made on first use in each process.
pub(crate) struct PerProcess<T> {
    slot: ArcSwapOption<Owned<T>>,
}

/// Which process this is: its pid (high 32 bits) and the forks counted into it (low 32
/// bits; 2^32 forks into one line of descent before a repeat). Never 0, since no process
/// has pid 0.
pub(crate) fn identity() -> u64 {
    watch_forks();
    (u64::from(std::process::id()) << 32) | (fork_generation() & 0xffff_ffff)
}

/// A value and the process it belongs to.
pub(crate) struct Owned<T> {
    owner: u64,
    value: T,
}

impl<T> Deref for Owned<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> PerProcess<T> {
    pub const fn new() -> Self {
        PerProcess {
            slot: ArcSwapOption::const_empty(),
        }
    }

    /// This process's value, made with `init` if it has none yet. `init` runs without any
    /// lock held; when two threads race, both may run it and one value wins.
    pub fn get_or_init(&self, init: impl Fn() -> T) -> Arc<Owned<T>> {
        self.get_or_try_init(|| Ok::<T, std::convert::Infallible>(init()))
            .unwrap_or_else(|never| match never {})
    }

    /// [`PerProcess::get_or_init`] with an `init` that may fail (nothing is stored then).
    pub fn get_or_try_init<E>(&self, init: impl Fn() -> Result<T, E>) -> Result<Arc<Owned<T>>, E> {
        let me = identity();
        loop {
            let current = self.slot.load_full();
            if let Some(owned) = current.as_ref().filter(|o| o.owner == me) {
                return Ok(owned.clone());
            }
            let fresh = Arc::new(Owned {
                owner: me,
                value: init()?,
            });
            let previous = self.slot.compare_and_swap(&current, Some(fresh.clone()));
            let won = match (&*previous, &current) {
                (Some(p), Some(c)) => Arc::ptr_eq(p, c),
                (None, None) => true,
                _ => false,
            };
            if won {
                if let Some(inherited) = current.filter(|o| o.owner != me) {
                    // The parent's: its locks may be held and its tasks gone for good.
                    std::mem::forget(inherited);
                }
                return Ok(fresh);
            }
            // Another thread stored first: use its value (or replace an inherited one).
        }
    }

    /// This process's value if it made one.
    #[cfg(test)]
    pub fn get(&self) -> Option<Arc<Owned<T>>> {
        let me = identity();
        self.slot.load_full().filter(|o| o.owner == me)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn one_value_per_process_across_threads() {
        let cell: Arc<PerProcess<usize>> = Arc::new(PerProcess::new());
        let made = Arc::new(AtomicUsize::new(0));
        let values: Vec<usize> = (0..8)
            .map(|_| {
                let (cell, made) = (cell.clone(), made.clone());
                std::thread::spawn(move || {
                    **cell.get_or_init(|| made.fetch_add(1, Ordering::SeqCst))
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        // Racing threads may each make one, but all of them see the one that was stored.
        assert!(values.iter().all(|v| *v == values[0]));
        assert_eq!(**cell.get().unwrap(), values[0]);
        assert_eq!(**cell.get_or_init(|| 99), values[0]);
    }

    /// A value left by a process that had this pid before some fork (a grandparent whose
    /// pid came back to its grandchild) is not this process's: it is replaced, not used.
    #[test]
    fn the_same_pid_after_a_fork_is_another_process() {
        let cell: PerProcess<u8> = PerProcess::new();
        let me = identity();
        assert_eq!(me >> 32, u64::from(std::process::id()));
        // This pid, one fork count earlier.
        let earlier = (me & !0xffff_ffff) | (me.wrapping_sub(1) & 0xffff_ffff);
        cell.slot.store(Some(Arc::new(Owned {
            owner: earlier,
            value: 1,
        })));
        assert!(cell.get().is_none(), "not this process's value");
        assert_eq!(**cell.get_or_init(|| 2), 2);
        assert_eq!(cell.get().unwrap().owner, me);
    }

    #[test]
    fn a_failed_init_stores_nothing() {
        let cell: PerProcess<u8> = PerProcess::new();
        assert_eq!(
            cell.get_or_try_init(|| Err::<u8, _>("no")).err(),
            Some("no")
        );
        assert!(cell.get().is_none());
        assert_eq!(**cell.get_or_try_init(|| Ok::<u8, &str>(7)).unwrap(), 7);
    }

    /// A child forked while another thread holds the value's lock gets its own value and
    /// can lock it; the parent's stays as it was.
    #[cfg(unix)]
    #[test]
    fn a_child_never_waits_on_the_parents_lock() {
        use std::sync::Mutex;
        static CELL: PerProcess<Mutex<u32>> = PerProcess::new();
        let parents = CELL.get_or_init(|| Mutex::new(1));
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let _guard = parents.lock().unwrap();
            held_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        held_rx.recv().unwrap();
        // SAFETY: the child only locks, reads and calls _exit: no allocation-free
        // guarantee is needed beyond what the test's own process provides.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let ok = CELL
                .get_or_init(|| Mutex::new(2))
                .try_lock()
                .map(|v| *v == 2)
                .unwrap_or(false);
            // SAFETY: ends the child at once, running no destructors of the parent's state.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        assert!(pid > 0, "fork failed");
        let mut status = 0;
        // SAFETY: waits for the child just forked.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        release_tx.send(()).unwrap();
        holder.join().unwrap();
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        assert_eq!(*CELL.get().unwrap().lock().unwrap(), 1);
    }
}
