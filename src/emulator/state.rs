//! The emulator's one state: every operation by project, in creation order,
//! with the rules of each RPC. Both front ends call into this.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine;
use tokio::sync::watch;
use tokio::time::Instant;

use super::filter::{Filter, FilterView};
use super::lifecycle::{Clock, Millis, Script};
use crate::error::{Detail, Error, Result};
use crate::proto::earthengine::State;
use crate::proto::longrunning::{ListOperationsResponse, Operation};
use crate::proto::rpc::{BadRequest, Code, ErrorInfo, ResourceInfo, bad_request::FieldViolation};

/// Page size used when a request asks for none.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Largest page the emulator returns; larger requests are reduced to it.
pub const MAX_PAGE_SIZE: usize = 1000;
/// How long a WaitOperation without a timeout (and without a deadline) waits.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);

const DOMAIN: &str = "earthengine.googleapis.com";
const TOKEN_VERSION: &str = "p1";

/// Timings the emulator applies where an operation does not set its own.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timings {
    pub(crate) queue: Duration,
    pub(crate) run: Duration,
    pub(crate) cancel_latency: Duration,
}

#[derive(Default)]
struct Tables {
    next_seq: u64,
    /// Full name to (project, sequence number).
    names: HashMap<String, (String, u64)>,
    /// Per project, newest first.
    projects: HashMap<String, BTreeMap<Reverse<u64>, Script>>,
}

/// The shared state behind both front ends.
pub(crate) struct Store {
    tables: Mutex<Tables>,
    changes: watch::Sender<u64>,
    /// Set when the server shuts down: waits answer at once from then on.
    closing: AtomicBool,
    pub(crate) clock: Clock,
    pub(crate) timings: Timings,
}

/// A parsed `projects/{project}/operations/{id}`.
struct OperationName<'a> {
    project: &'a str,
}

impl Store {
    pub(crate) fn new(timings: Timings) -> Self {
        Self {
            tables: Mutex::new(Tables::default()),
            changes: watch::channel(0).0,
            closing: AtomicBool::new(false),
            clock: Clock::start(),
            timings,
        }
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave the tables half
        // updated (every update is a single insert or remove), so a poisoned
        // lock is still safe to use.
        self.tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn changed(&self) {
        self.changes.send_modify(|generation| *generation += 1);
    }

    /// Answers every wait in progress, and every later one, with the
    /// operation's state at once: the server is shutting down.
    pub(crate) fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.changed();
    }

    pub(crate) fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Adds an operation; its name must be new.
    pub(crate) fn insert(&self, script: Script) -> Result<String> {
        let parsed = parse_name(&script.name)?;
        let project = parsed.project.to_owned();
        let name = script.name.clone();
        {
            let mut tables = self.tables();
            if tables.names.contains_key(&name) {
                return Err(Error::new(
                    Code::AlreadyExists,
                    format!("operation {name} already exists"),
                ));
            }
            let seq = tables.next_seq;
            tables.next_seq += 1;
            tables.names.insert(name.clone(), (project.clone(), seq));
            tables
                .projects
                .entry(project)
                .or_default()
                .insert(Reverse(seq), script);
        }
        self.changed();
        Ok(name)
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.tables().names.contains_key(name)
    }

    /// Runs `f` on the script of `name`, or fails with NOT_FOUND.
    fn with_script<T>(&self, name: &str, f: impl FnOnce(&mut Script) -> T) -> Result<T> {
        parse_name(name)?;
        let mut tables = self.tables();
        let Some((project, seq)) = tables.names.get(name).cloned() else {
            return Err(not_found(name));
        };
        match tables
            .projects
            .get_mut(&project)
            .and_then(|ops| ops.get_mut(&Reverse(seq)))
        {
            Some(script) => Ok(f(script)),
            None => Err(not_found(name)),
        }
    }

    pub(crate) fn get(&self, name: &str) -> Result<Operation> {
        let now = self.now();
        self.with_script(name, |script| script.snapshot(now, &self.clock))
    }

    pub(crate) fn cancel(&self, name: &str) -> Result<()> {
        let now = self.now();
        if self.with_script(name, |script| script.request_cancel(now))? {
            self.changed();
        }
        Ok(())
    }

    pub(crate) fn delete(&self, name: &str) -> Result<()> {
        parse_name(name)?;
        {
            let mut tables = self.tables();
            let Some((project, seq)) = tables.names.remove(name) else {
                return Err(not_found(name));
            };
            if let Some(ops) = tables.projects.get_mut(&project) {
                ops.remove(&Reverse(seq));
            }
        }
        self.changed();
        Ok(())
    }

    /// Blocks until the operation is done, `timeout` passes, `deadline`
    /// (the caller's) comes or the store closes, whichever is first, then
    /// returns its state.
    pub(crate) async fn wait(
        &self,
        name: &str,
        timeout: Option<Duration>,
        deadline: Option<Instant>,
    ) -> Result<Operation> {
        let started = Instant::now();
        let mut limit = started + timeout.unwrap_or(DEFAULT_WAIT);
        if let Some(deadline) = deadline {
            // Answer a little before the caller's deadline, so that the reply
            // arrives in time rather than the deadline cutting the call off.
            let remaining = deadline.saturating_duration_since(started);
            let margin = (remaining / 10).min(Duration::from_millis(500));
            limit = limit.min(deadline - margin);
        }
        let mut changes = self.changes.subscribe();
        tracing::debug!(?name, "wait started");
        loop {
            changes.borrow_and_update();
            let now = self.now();
            let (operation, done_at) = self.with_script(name, |script| {
                (script.snapshot(now, &self.clock), script.done_at())
            })?;
            // Read after marking the changes seen: a close from now on
            // wakes the select below.
            let closing = self.closing.load(Ordering::SeqCst);
            if operation.done || closing || Instant::now() >= limit {
                return Ok(operation);
            }
            let wake = done_at.map_or(limit, |done| self.clock.instant(done).min(limit));
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                changed = changes.changed() => {
                    if changed.is_err() {
                        return Ok(operation);
                    }
                }
            }
        }
    }

    /// One page of a listing. Pages are cut by creation order (newest first)
    /// and tokens name the last operation returned, so operations created or
    /// deleted between pages never cause another to be repeated or skipped.
    pub(crate) fn list(
        &self,
        parent: &str,
        filter_text: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<ListOperationsResponse> {
        let project = parse_parent(parent)?;
        let filter = Filter::parse(filter_text).map_err(|problem| {
            invalid_field(
                "filter",
                format!("invalid filter {filter_text:?}: {problem}"),
            )
        })?;
        let page_size = match usize::try_from(page_size) {
            Ok(0) => DEFAULT_PAGE_SIZE,
            Ok(size) => size.min(MAX_PAGE_SIZE),
            Err(_) => {
                return Err(invalid_field(
                    "page_size",
                    format!("page_size must not be negative (got {page_size})"),
                ));
            }
        };
        let after = match page_token {
            "" => None,
            token => Some(decode_token(token, project, filter_text)?),
        };
        let now = self.now();
        let tables = self.tables();
        let mut operations = Vec::new();
        let mut next_page_token = String::new();
        if let Some(ops) = tables.projects.get(project) {
            let start = after.map_or(Bound::Unbounded, |seq| Bound::Excluded(Reverse(seq)));
            let mut last_seq = None;
            for (Reverse(seq), script) in ops.range((start, Bound::Unbounded)) {
                let state = script.state_at(now);
                let view = FilterView {
                    done: state.is_terminal(),
                    state,
                    kind: &script.kind,
                    name: &script.name,
                    description: &script.description,
                };
                if !filter.matches(&view) {
                    continue;
                }
                if operations.len() == page_size {
                    // Another match exists: the listing goes on from here.
                    if let Some(last) = last_seq {
                        next_page_token = encode_token(project, last, filter_text);
                    }
                    break;
                }
                operations.push(script.snapshot(now, &self.clock));
                last_seq = Some(*seq);
            }
        }
        Ok(ListOperationsResponse {
            operations,
            next_page_token,
            unreachable: Vec::new(),
        })
    }

    /// How many waits are in progress: each holds a subscription to the
    /// changes, dropped when it answers.
    pub(crate) fn waits_in_progress(&self) -> usize {
        self.changes.receiver_count()
    }

    /// How many operations a project has.
    pub(crate) fn count(&self, project: &str) -> usize {
        self.tables().projects.get(project).map_or(0, BTreeMap::len)
    }

    /// The names in a project, newest first.
    pub(crate) fn names(&self, project: &str) -> Vec<String> {
        self.tables()
            .projects
            .get(project)
            .map(|ops| ops.values().map(|s| s.name.clone()).collect())
            .unwrap_or_default()
    }

    /// The state of every operation of a project now, newest first.
    pub(crate) fn states(&self, project: &str) -> Vec<(String, State)> {
        let now = self.now();
        self.tables()
            .projects
            .get(project)
            .map(|ops| {
                ops.values()
                    .map(|s| (s.name.clone(), s.state_at(now)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn not_found(name: &str) -> Error {
    Error::new(Code::NotFound, format!("Operation {name} not found."))
        .with_detail(Detail::ErrorInfo(ErrorInfo {
            reason: "OPERATION_NOT_FOUND".into(),
            domain: DOMAIN.into(),
            metadata: [("name".to_owned(), name.to_owned())].into(),
        }))
        .with_detail(Detail::ResourceInfo(ResourceInfo {
            resource_type: "type.googleapis.com/google.longrunning.Operation".into(),
            resource_name: name.into(),
            owner: String::new(),
            description: "no operation has this name (it may have been deleted)".into(),
        }))
}

fn invalid_field(field: &str, description: String) -> Error {
    Error::new(Code::InvalidArgument, description.clone()).with_detail(Detail::BadRequest(
        BadRequest {
            field_violations: vec![FieldViolation {
                field: field.into(),
                description,
                reason: String::new(),
                localized_message: None,
            }],
        },
    ))
}

fn valid_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && segment
            .chars()
            .all(|c| !c.is_control() && c != '/' && !c.is_whitespace())
}

/// Where operations named `operations/{id}` (the generic bindings' form)
/// are kept: no project segment can be empty, so this key is no project's.
const UNSCOPED: &str = "";

/// Checks `projects/{project}/operations/{id}` or `operations/{id}`.
fn parse_name(name: &str) -> Result<OperationName<'_>> {
    let parsed = match name.strip_prefix("operations/") {
        Some(id) => Some((UNSCOPED, id)),
        None => name
            .strip_prefix("projects/")
            .and_then(|rest| rest.split_once("/operations/"))
            .filter(|(project, _)| valid_segment(project)),
    };
    match parsed {
        Some((project, id)) if id.split('/').all(valid_segment) => Ok(OperationName { project }),
        _ => Err(invalid_field(
            "name",
            format!(
                "invalid operation name {name:?}: expected projects/{{project}}/operations/{{id}} \
                 or operations/{{id}}"
            ),
        )),
    }
}

/// Checks `projects/{project}` (a trailing `/operations` is accepted too),
/// or `operations` for the operations named `operations/{id}`.
fn parse_parent(parent: &str) -> Result<&str> {
    if parent == "operations" {
        return Ok(UNSCOPED);
    }
    let project = parent
        .strip_prefix("projects/")
        .map(|rest| rest.strip_suffix("/operations").unwrap_or(rest));
    match project {
        Some(project) if valid_segment(project) => Ok(project),
        _ => Err(invalid_field(
            "name",
            format!("invalid parent {parent:?}: expected projects/{{project}} or operations"),
        )),
    }
}

/// FNV-1a: a stable hash, so a token outlives the process that issued it.
fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn encode_token(project: &str, last_seq: u64, filter: &str) -> String {
    let plain = format!(
        "{TOKEN_VERSION}\n{project}\n{last_seq}\n{:016x}",
        fingerprint(filter)
    );
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(plain)
}

fn decode_token(token: &str, project: &str, filter: &str) -> Result<u64> {
    let invalid =
        |why: &str| invalid_field("page_token", format!("invalid page token {token:?}: {why}"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid("not a token this server issued"))?;
    let plain = String::from_utf8(bytes).map_err(|_| invalid("not a token this server issued"))?;
    let parts: Vec<&str> = plain.split('\n').collect();
    let [version, token_project, seq, hash] = parts.as_slice() else {
        return Err(invalid("not a token this server issued"));
    };
    if *version != TOKEN_VERSION {
        return Err(invalid("not a token this server issued"));
    }
    if *token_project != project {
        return Err(invalid("it was issued for another parent"));
    }
    if *hash != format!("{:016x}", fingerprint(filter)) {
        return Err(invalid("it was issued for a different filter"));
    }
    seq.parse()
        .map_err(|_| invalid("not a token this server issued"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::lifecycle::Ending;

    fn store() -> Store {
        Store::new(Timings {
            queue: Duration::ZERO,
            run: Duration::from_secs(1),
            cancel_latency: Duration::from_millis(100),
        })
    }

    fn script(name: &str) -> Script {
        Script {
            name: name.into(),
            kind: "EXPORT_IMAGE".into(),
            description: String::new(),
            priority: 100,
            destination_uris: vec![],
            created: 0,
            queue: 0,
            run: None,
            ending: Ending::Succeed,
            cancel_requested: None,
            cancel_latency: 100,
        }
    }

    #[test]
    fn names_are_checked() {
        for bad in [
            "",
            "projects//operations/x",
            "projects/p/operations/",
            "projects/p/operations/../x",
            "operations/",
            "operations/a//b",
            "projects/p/ops/x",
            "projects/p q/operations/x",
        ] {
            assert_eq!(
                parse_name(bad).err().map(|e| e.code()),
                Some(Code::InvalidArgument),
                "{bad}"
            );
        }
        assert!(parse_name("projects/p/operations/ABC").is_ok());
        assert_eq!(
            parse_name("operations/a/b").map(|n| n.project).ok(),
            Some(UNSCOPED)
        );
        assert_eq!(parse_parent("operations").ok(), Some(UNSCOPED));
        assert_eq!(parse_parent("projects/p/operations").ok(), Some("p"));
    }

    #[tokio::test]
    async fn listing_survives_creates_and_deletes_between_pages() {
        let store = store();
        for i in 0..50 {
            store
                .insert(script(&format!("projects/p/operations/op{i}")))
                .expect("the store accepts this call");
        }
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut round = 0;
        loop {
            let page = store
                .list("projects/p", "", 7, &token)
                .expect("the store accepts this call");
            seen.extend(page.operations.iter().map(|op| op.name.clone()));
            // Churn: a new operation and a deletion of one already seen.
            store
                .insert(script(&format!("projects/p/operations/new{round}")))
                .expect("the store accepts this call");
            if let Some(first) = seen.first() {
                let _ = store.delete(first);
            }
            round += 1;
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let mut expected: Vec<String> = (0..50)
            .map(|i| format!("projects/p/operations/op{i}"))
            .collect();
        expected.reverse();
        assert_eq!(seen, expected);
    }

    #[test]
    fn tokens_are_bound_to_parent_and_filter() {
        let store = store();
        for i in 0..3 {
            store
                .insert(script(&format!("projects/p/operations/op{i}")))
                .expect("the store accepts this call");
        }
        let page = store
            .list("projects/p", "done=false", 1, "")
            .expect("the store accepts this call");
        let token = page.next_page_token;
        assert!(!token.is_empty());
        let other_filter = store
            .list("projects/p", "done=true", 1, &token)
            .err()
            .map(|e| e.to_string());
        assert!(other_filter.is_some_and(|m| m.contains("different filter")));
        let garbage = store
            .list("projects/p", "", 1, "%%%")
            .err()
            .map(|e| e.code());
        assert_eq!(garbage, Some(Code::InvalidArgument));
        let negative = store.list("projects/p", "", -1, "").err().map(|e| e.code());
        assert_eq!(negative, Some(Code::InvalidArgument));
    }
}
