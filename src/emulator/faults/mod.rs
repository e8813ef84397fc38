//! Fault injection: errors, delays and dropped connections the emulator
//! serves instead of (or before) a real answer, for reliability tests.
//!
//! A [`Fault`] names the RPC it applies to (or all five), which of its calls
//! it hits (every call, every Nth, or a seeded random fraction) and what it
//! does to them. The set of faults in force is shared by both transports
//! and can change while the emulator runs ([`Faults`]). A faulted call is
//! decided after the call is recorded and its token checked, and before the
//! state is touched: a faulted CancelOperation cancels nothing.

pub(crate) mod admin;
mod syntax;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Frame;

use super::seed::SplitMix;
use crate::error::{Detail, Error};
use crate::http_error::{code_for_http_status, http_status_for_code};
use crate::operation::proto_duration;
use crate::proto::rpc::{Code, ErrorInfo, RetryInfo};
use crate::routes::Rpc;

/// The code of a failing fault that sets neither a code nor an HTTP status.
pub const DEFAULT_FAULT_CODE: Code = Code::Unavailable;

/// The `ErrorInfo` reason of every injected error.
pub const FAULT_REASON: &str = "FAULT_INJECTED";

/// The `ErrorInfo` domain of every injected error.
pub const FAULT_DOMAIN: &str = "emulator.eeops";

/// One fault: which calls it hits and what it does to them.
///
/// Built with [`Fault::on`] (or [`Fault::on_any`]) and the `with_*`
/// methods, parsed from text with [`Fault::parse`] or from JSON with
/// [`Fault::from_json`] (both through its serde `Deserialize`, which any
/// serde format can use); [`Display`](fmt::Display) writes the text form
/// back and [`Fault::to_json`] (its `Serialize`) the JSON form.
///
/// **Which calls.** Every call of its method by default; [`every`]`(n)`
/// hits calls n, 2n, 3n… (counted per fault, over the calls of its method
/// only); [`fraction`]`(p)` hits each call with probability `p`, drawn from a
/// generator seeded with [`with_seed`] (by default with the fault's id), so
/// that a run repeats exactly.
///
/// **What it does.** [`with_latency`] delays the answer; the call then
/// proceeds normally unless the fault also fails it. A fault fails the call
/// when it sets a code, an HTTP status, a retry delay or a `Retry-After`, or
/// when it sets nothing at all (then with [`DEFAULT_FAULT_CODE`]).
/// [`dropping_connection`] cuts the reply off instead of answering.
///
/// An injected error carries a `google.rpc.ErrorInfo` with reason
/// [`FAULT_REASON`], domain [`FAULT_DOMAIN`] and metadata `fault` (its id),
/// `method` and `call` (the call's number among its method's), then the
/// `RetryInfo` if there is one; its message says the same in words.
///
/// When several faults hit one call, their latencies add up and the first
/// one added that fails or drops the call decides how. Each fault counts
/// the calls of its method whether or not another one hit them.
///
/// ```
/// use eeops::emulator::Fault;
/// use eeops::rpc::Code;
/// use eeops::Rpc;
/// use std::time::Duration;
///
/// let flaky = Fault::on(Rpc::GetOperation)
///     .every(3)
///     .with_code(Code::Unavailable)
///     .with_retry_delay(Duration::from_millis(500));
/// assert_eq!(
///     flaky.to_string(),
///     "method=GetOperation,every=3,code=UNAVAILABLE,retry_delay=500ms"
/// );
/// assert_eq!(Fault::parse(&flaky.to_string()), Ok(flaky));
/// ```
///
/// [`every`]: Fault::every
/// [`fraction`]: Fault::fraction
/// [`with_seed`]: Fault::with_seed
/// [`with_latency`]: Fault::with_latency
/// [`dropping_connection`]: Fault::dropping_connection
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct Fault {
    method: Option<Rpc>,
    selection: Selection,
    seed: Option<u64>,
    code: Option<Code>,
    http_status: Option<u16>,
    retry_delay: Option<Duration>,
    retry_after: Option<Duration>,
    latency: Option<Duration>,
    drop: bool,
}

/// Which of the calls of its method a fault hits.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Selection {
    All,
    /// Calls n, 2n, 3n…; never 0.
    Every(u64),
    /// Each call with this probability, in `0.0..=1.0`.
    Fraction(f64),
}

impl Fault {
    /// A fault on every call of `rpc` that fails it with
    /// [`DEFAULT_FAULT_CODE`] until told otherwise.
    pub fn on(rpc: Rpc) -> Self {
        Self::new(Some(rpc))
    }

    /// A fault on the calls of all five Operations RPCs (`method=*`).
    pub fn on_any() -> Self {
        Self::new(None)
    }

    fn new(method: Option<Rpc>) -> Self {
        Self {
            method,
            selection: Selection::All,
            seed: None,
            code: None,
            http_status: None,
            retry_delay: None,
            retry_after: None,
            latency: None,
            drop: false,
        }
    }

    /// Hits calls `n`, `2n`, `3n`… of its method only (0 counts as 1);
    /// replaces [`fraction`](Self::fraction).
    pub fn every(mut self, n: u64) -> Self {
        self.selection = Selection::Every(n.max(1));
        self
    }

    /// Hits each call of its method with probability `p` (clamped to
    /// `0.0..=1.0`; NaN is 0); replaces [`every`](Self::every).
    pub fn fraction(mut self, p: f64) -> Self {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        self.selection = Selection::Fraction(p);
        self
    }

    /// Seeds the generator [`fraction`](Self::fraction) draws from (by
    /// default, the fault's id): the same seed hits the same calls.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Fails the calls hit with `code`, over gRPC and in the REST error
    /// body (whose HTTP status is the code's, unless
    /// [`with_http_status`](Self::with_http_status) sets one). `OK` is not
    /// an error and stands for `UNKNOWN`. Replaces
    /// [`dropping_connection`](Self::dropping_connection).
    pub fn with_code(mut self, code: Code) -> Self {
        self.code = Some(if code == Code::Ok {
            Code::Unknown
        } else {
            code
        });
        self.drop = false;
        self
    }

    /// Fails the calls hit with a `google.rpc.RetryInfo` detail asking the
    /// client to wait `delay`, over gRPC and in the REST error body's
    /// `details`. Replaces [`dropping_connection`](Self::dropping_connection).
    pub fn with_retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = Some(delay);
        self.drop = false;
        self
    }

    /// Fails the calls hit with this HTTP status over REST (400 to 599;
    /// other values stand for 500); the body's `status`, and the code over
    /// gRPC, are the code Google maps the status to (429 is
    /// RESOURCE_EXHAUSTED, 503 UNAVAILABLE…) unless
    /// [`with_code`](Self::with_code) sets one. Replaces
    /// [`dropping_connection`](Self::dropping_connection).
    pub fn with_http_status(mut self, status: u16) -> Self {
        self.http_status = Some(if (400..=599).contains(&status) {
            status
        } else {
            500
        });
        self.drop = false;
        self
    }

    /// Fails the calls hit with a `Retry-After` header over REST, in whole
    /// seconds (rounded up); gRPC has no such header and ignores it.
    /// Replaces [`dropping_connection`](Self::dropping_connection).
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self.drop = false;
        self
    }

    /// Delays the answer to the calls hit by `latency`; without anything
    /// that fails the call, it then proceeds normally.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Cuts the reply to the calls hit off instead of answering: over REST
    /// the status line and headers go out with a `Content-Length` larger
    /// than the part of the body that follows, then the connection is
    /// closed (on HTTP/2, the stream is reset); over gRPC the response
    /// headers and part of a message go out, then the HTTP/2 stream is
    /// reset (`RST_STREAM` with `INTERNAL_ERROR`). Clients see a transport
    /// error (UNAVAILABLE or INTERNAL). Replaces any code, HTTP status,
    /// retry delay and `Retry-After` set before.
    pub fn dropping_connection(mut self) -> Self {
        self.code = None;
        self.http_status = None;
        self.retry_delay = None;
        self.retry_after = None;
        self.drop = true;
        self
    }

    /// The RPC it applies to; None for all of them.
    pub fn method(&self) -> Option<Rpc> {
        self.method
    }

    /// The delay before the calls hit are answered, if any.
    pub fn latency(&self) -> Option<Duration> {
        self.latency
    }

    /// Whether it cuts the replies to the calls hit off.
    pub fn drops_connection(&self) -> bool {
        self.drop
    }

    /// Whether it fails the calls it hits with an error (rather than only
    /// delaying them, or dropping them).
    fn fails(&self) -> bool {
        !self.drop
            && (self.code.is_some()
                || self.http_status.is_some()
                || self.retry_delay.is_some()
                || self.retry_after.is_some()
                || self.latency.is_none())
    }

    /// The code the calls hit fail with over gRPC (and name in the REST
    /// error body); None if the fault only delays or drops them.
    pub fn code(&self) -> Option<Code> {
        if !self.fails() {
            return None;
        }
        Some(match (self.code, self.http_status) {
            (Some(code), _) => code,
            (None, Some(status)) => code_for_http_status(status),
            (None, None) => DEFAULT_FAULT_CODE,
        })
    }

    /// The HTTP status the calls hit fail with over REST; None if the
    /// fault only delays or drops them.
    pub fn http_status(&self) -> Option<u16> {
        let code = self.code()?;
        Some(
            self.http_status
                .unwrap_or_else(|| http_status_for_code(code)),
        )
    }

    fn applies_to(&self, rpc: Rpc) -> bool {
        self.method.is_none_or(|method| method == rpc)
    }
}

/// Identifies a fault added to a running emulator, for
/// [`Faults::remove`]; shown as its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaultId(u64);

impl FaultId {
    /// The id as a number, as the admin endpoint shows it.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for FaultId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The faults in force in a running emulator, shared by both transports;
/// cheap to clone. Changes apply to the next call received.
#[derive(Clone, Default)]
pub struct Faults {
    table: Arc<Mutex<Table>>,
}

#[derive(Default)]
struct Table {
    last_id: u64,
    installed: Vec<Installed>,
}

/// A fault in force, with its counters.
struct Installed {
    id: FaultId,
    fault: Fault,
    generator: SplitMix,
    /// Calls of its method seen since it was added.
    calls: u64,
    /// Calls it hit.
    injected: u64,
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.list()).finish()
    }
}

/// What the faults in force do to one call.
#[derive(Debug)]
pub(crate) struct Injection {
    /// How long to wait before the outcome.
    pub(crate) latency: Duration,
    pub(crate) outcome: Outcome,
}

/// How a call hit by faults ends.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Served normally (after the latency).
    Proceed,
    /// Fails with this error.
    Fail(Injected),
    /// The reply is cut off.
    Drop,
}

/// An injected error as each transport sends it.
#[derive(Debug)]
pub(crate) struct Injected {
    /// The code (gRPC's, and the REST body's `status`), message and
    /// details.
    pub(crate) error: Error,
    /// The HTTP status over REST.
    pub(crate) http_status: u16,
    /// The `Retry-After` header over REST, in seconds.
    pub(crate) retry_after_secs: Option<u64>,
}

impl Faults {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // Every update is a push, a removal or counter increments: a panic
        // elsewhere cannot leave the table inconsistent.
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Puts `fault` in force from the next call on, after the faults
    /// already there; ids start at 1 and are never reused.
    pub fn add(&self, fault: Fault) -> FaultId {
        let mut table = self.table();
        table.last_id += 1;
        let id = FaultId(table.last_id);
        let generator = SplitMix::new(fault.seed.unwrap_or(id.0));
        table.installed.push(Installed {
            id,
            fault,
            generator,
            calls: 0,
            injected: 0,
        });
        id
    }

    /// Takes the fault out of force; false if there was no such fault.
    pub fn remove(&self, id: FaultId) -> bool {
        let mut table = self.table();
        let before = table.installed.len();
        table.installed.retain(|installed| installed.id != id);
        table.installed.len() != before
    }

    /// Takes every fault out of force and returns how many there were.
    pub fn clear(&self) -> usize {
        std::mem::take(&mut self.table().installed).len()
    }

    /// The faults in force, in the order they were added.
    pub fn list(&self) -> Vec<(FaultId, Fault)> {
        self.table()
            .installed
            .iter()
            .map(|installed| (installed.id, installed.fault.clone()))
            .collect()
    }

    /// How many calls the fault has hit so far; None if it is not in force.
    pub fn injected(&self, id: FaultId) -> Option<u64> {
        self.table()
            .installed
            .iter()
            .find(|installed| installed.id == id)
            .map(|installed| installed.injected)
    }

    /// Counts one call of `rpc` against every fault and returns what the
    /// ones that hit it do, or None when none does.
    pub(crate) fn select(&self, rpc: Rpc) -> Option<Injection> {
        let mut table = self.table();
        let mut latency = Duration::ZERO;
        let mut outcome: Option<Outcome> = None;
        let mut hit = false;
        for installed in &mut table.installed {
            if !installed.fault.applies_to(rpc) {
                continue;
            }
            installed.calls += 1;
            let hits = match installed.fault.selection {
                Selection::All => true,
                Selection::Every(n) => installed.calls.is_multiple_of(n),
                Selection::Fraction(p) => unit_interval(installed.generator.next_u64()) < p,
            };
            if !hits {
                continue;
            }
            hit = true;
            installed.injected += 1;
            let fault = &installed.fault;
            latency = latency.saturating_add(fault.latency.unwrap_or_default());
            if outcome.is_none() {
                outcome = if fault.drop {
                    Some(Outcome::Drop)
                } else {
                    injected_error(installed.id, fault, rpc, installed.calls).map(Outcome::Fail)
                };
            }
        }
        hit.then(|| Injection {
            latency,
            outcome: outcome.unwrap_or(Outcome::Proceed),
        })
    }
}

/// The error `fault` (number `id`) fails call `call` of `rpc` with, if it
/// fails calls.
fn injected_error(id: FaultId, fault: &Fault, rpc: Rpc, call: u64) -> Option<Injected> {
    let code = fault.code()?;
    let http_status = fault.http_status()?;
    let mut error = Error::new(
        code,
        format!(
            "fault {id} injected by the eeops emulator into {} call {call} ({fault})",
            rpc.name()
        ),
    )
    .with_detail(Detail::ErrorInfo(ErrorInfo {
        reason: FAULT_REASON.to_owned(),
        domain: FAULT_DOMAIN.to_owned(),
        metadata: [
            ("fault".to_owned(), id.to_string()),
            ("method".to_owned(), rpc.name().to_owned()),
            ("call".to_owned(), call.to_string()),
        ]
        .into(),
    }));
    if let Some(delay) = fault.retry_delay {
        error = error.with_detail(Detail::RetryInfo(RetryInfo {
            retry_delay: Some(proto_duration(delay)),
        }));
    }
    Some(Injected {
        error,
        http_status,
        retry_after_secs: fault.retry_after.map(whole_seconds_up),
    })
}

/// The duration in whole seconds, rounded up.
fn whole_seconds_up(duration: Duration) -> u64 {
    duration
        .as_secs()
        .saturating_add(u64::from(duration.subsec_nanos() > 0))
}

/// A uniform number in `0.0..1.0` from 53 random bits.
fn unit_interval(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// How many more bytes a cut-off reply promises than it sends.
pub(crate) const DROPPED_BYTES: u32 = 1024;

/// How long a cut-off reply waits between its partial body and the break,
/// so that what was sent leaves the server first.
const DROP_PAUSE: Duration = Duration::from_millis(20);

/// A body that sends `partial`, pauses, then fails: the server then closes
/// an HTTP/1.1 connection, or resets an HTTP/2 stream with
/// `INTERNAL_ERROR`, leaving the reply incomplete.
pub(crate) fn cut_off(
    partial: Bytes,
) -> impl hyper::body::Body<Data = Bytes, Error = std::io::Error> + Send + 'static {
    enum Step {
        Partial(Bytes),
        Break,
        Done,
    }
    let frames = futures_util::stream::unfold(Step::Partial(partial), |step| async move {
        match step {
            Step::Partial(partial) => Some((Ok(Frame::data(partial)), Step::Break)),
            Step::Break => {
                tokio::time::sleep(DROP_PAUSE).await;
                let error = std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "the eeops emulator dropped the connection (injected fault)",
                );
                Some((Err(error), Step::Done))
            }
            Step::Done => None,
        }
    });
    http_body_util::StreamBody::new(frames)
}

/// The RPC a gRPC path (`/google.longrunning.Operations/{Method}`) calls.
pub(crate) fn grpc_rpc(path: &str) -> Option<Rpc> {
    let method = path.strip_prefix("/google.longrunning.Operations/")?;
    Rpc::ALL.into_iter().find(|rpc| rpc.name() == method)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(faults: &Faults, rpc: Rpc, calls: usize) -> Vec<Option<Code>> {
        (0..calls)
            .map(|_| match faults.select(rpc).map(|i| i.outcome) {
                Some(Outcome::Fail(injected)) => Some(injected.error.code()),
                Some(Outcome::Drop) => Some(Code::Aborted),
                Some(Outcome::Proceed) | None => None,
            })
            .collect()
    }

    #[test]
    fn every_nth_call_of_the_method_is_hit() {
        let faults = Faults::new();
        let id = faults.add(Fault::on(Rpc::GetOperation).every(3));
        // Calls of other methods do not count.
        assert!(faults.select(Rpc::ListOperations).is_none());
        let hit = codes(&faults, Rpc::GetOperation, 9);
        let failing: Vec<usize> = (0..9)
            .filter(|i| hit[*i].is_some())
            .map(|i| i + 1)
            .collect();
        assert_eq!(failing, [3, 6, 9]);
        assert_eq!(hit[2], Some(DEFAULT_FAULT_CODE));
        assert_eq!(faults.injected(id), Some(3));
    }

    #[test]
    fn fractions_repeat_with_the_same_seed() {
        let run = |seed| {
            let faults = Faults::new();
            faults.add(Fault::on_any().fraction(0.25).with_seed(seed));
            codes(&faults, Rpc::WaitOperation, 400)
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let hits = run(7).iter().filter(|c| c.is_some()).count();
        assert!((60..=140).contains(&hits), "{hits}");
        let never = Faults::new();
        never.add(Fault::on_any().fraction(0.0));
        assert!(
            codes(&never, Rpc::GetOperation, 100)
                .iter()
                .all(Option::is_none)
        );
    }

    #[test]
    fn latencies_add_up_and_the_first_failure_decides() {
        let faults = Faults::new();
        faults.add(Fault::on_any().with_latency(Duration::from_millis(100)));
        faults.add(Fault::on(Rpc::CancelOperation).with_http_status(429));
        faults.add(
            Fault::on_any()
                .with_latency(Duration::from_millis(50))
                .with_code(Code::Internal),
        );
        let get = faults.select(Rpc::GetOperation).expect("hit");
        assert_eq!(get.latency, Duration::from_millis(150));
        assert!(matches!(get.outcome, Outcome::Fail(ref i) if i.error.code() == Code::Internal));
        let cancel = faults.select(Rpc::CancelOperation).expect("hit");
        let Outcome::Fail(injected) = cancel.outcome else {
            panic!("cancel should fail");
        };
        assert_eq!(injected.http_status, 429);
        assert_eq!(injected.error.code(), Code::ResourceExhausted);
        faults.clear();
        assert!(faults.select(Rpc::CancelOperation).is_none());
    }

    #[test]
    fn latency_alone_lets_the_call_through() {
        let faults = Faults::new();
        faults.add(Fault::on_any().with_latency(Duration::from_millis(5)));
        let injection = faults.select(Rpc::GetOperation).expect("hit");
        assert!(matches!(injection.outcome, Outcome::Proceed));
    }

    #[test]
    fn retry_details_and_headers() {
        let fault = Fault::on_any()
            .with_http_status(503)
            .with_retry_after(Duration::from_millis(1500))
            .with_retry_delay(Duration::from_millis(250));
        let injected = injected_error(FaultId(4), &fault, Rpc::GetOperation, 1).expect("fails");
        assert_eq!(injected.error.code(), Code::Unavailable);
        assert_eq!(injected.retry_after_secs, Some(2));
        assert_eq!(
            injected.error.retry_delay(),
            Some(Duration::from_millis(250))
        );
        assert!(injected.error.message().contains("fault 4"));
        let info = injected.error.error_info().expect("an ErrorInfo");
        assert_eq!(info.reason, FAULT_REASON);
        assert_eq!(info.metadata["fault"], "4");
    }

    #[test]
    fn removal_and_ids() {
        let faults = Faults::new();
        let first = faults.add(Fault::on_any());
        let second = faults.add(Fault::on_any().dropping_connection());
        assert_eq!((first.get(), second.get()), (1, 2));
        assert!(faults.remove(first));
        assert!(!faults.remove(first));
        assert!(matches!(
            faults.select(Rpc::DeleteOperation).map(|i| i.outcome),
            Some(Outcome::Drop)
        ));
        assert_eq!(faults.clear(), 1);
        assert_eq!(faults.add(Fault::on_any()).get(), 3);
    }

    #[test]
    fn builder_values_are_normalised() {
        assert_eq!(Fault::on_any().every(0), Fault::on_any().every(1));
        assert_eq!(
            Fault::on_any().fraction(f64::NAN),
            Fault::on_any().fraction(0.0)
        );
        assert_eq!(Fault::on_any().fraction(3.0), Fault::on_any().fraction(1.0));
        assert_eq!(
            Fault::on_any().with_http_status(200).http_status(),
            Some(500)
        );
        assert_eq!(
            Fault::on_any().with_code(Code::Ok).code(),
            Some(Code::Unknown)
        );
        let dropped = Fault::on_any()
            .with_code(Code::Internal)
            .dropping_connection();
        assert_eq!(dropped.code(), None);
        assert!(!dropped.with_code(Code::Internal).drop);
    }

    #[test]
    fn grpc_paths_name_their_rpc() {
        assert_eq!(
            grpc_rpc("/google.longrunning.Operations/CancelOperation"),
            Some(Rpc::CancelOperation)
        );
        assert_eq!(grpc_rpc("/google.longrunning.Operations/Nope"), None);
        assert_eq!(grpc_rpc("/other.Service/GetOperation"), None);
    }
}
