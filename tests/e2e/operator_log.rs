//! The in-process operator's log during a journey, printed when the journey fails: the API
//! server's audit log says what the operator asked, this says why (a lease it thought lost, a
//! reconcile that failed). `AIMS_E2E_LOG` sets the filter (default `aims_operator=info`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once, PoisonError};

static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static OFF: AtomicBool = AtomicBool::new(false);

/// How many of the last lines a failing journey prints.
const TAIL: usize = 300;

fn log() -> std::sync::MutexGuard<'static, Vec<u8>> {
    LOG.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Buffer;

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        log().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Records nothing in this process (a benchmark, whose operator must not format logs).
#[allow(dead_code)] // the apiserver bench's; the e2e suite records
pub fn off() {
    OFF.store(true, Ordering::Relaxed);
}

/// Starts recording (the subscriber is installed once per process) and forgets what the
/// journeys before this one logged.
pub fn start() {
    if OFF.load(Ordering::Relaxed) {
        return;
    }
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let filter = std::env::var("AIMS_E2E_LOG").unwrap_or_else(|_| "aims_operator=info".into());
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(|| Buffer)
            .try_init();
    });
    log().clear();
}

/// Prints the operator's last log lines when dropped while the thread unwinds (the journey
/// holding it failed).
pub struct PrintOnFailure;

impl Drop for PrintOnFailure {
    fn drop(&mut self) {
        if !std::thread::panicking() || OFF.load(Ordering::Relaxed) {
            return;
        }
        let text = String::from_utf8_lossy(&log()).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(TAIL)..];
        eprintln!(
            "--- the operator's log in this journey (last {} of {} lines) ---\n{}",
            tail.len(),
            lines.len(),
            tail.join("\n")
        );
    }
}
