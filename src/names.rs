//! Operation names: [`OperationName`] parses and prints them, bare task ids
//! are completed in the client's project, and every call's name is checked
//! against the client's routes before any transport sees it, so a name that
//! fits no route gets the same error over gRPC and REST.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Origin, Result};
use crate::proto::rpc::Code;
use crate::routes::{Routes, Rpc};

/// The full name of an Earth Engine operation (a task), or of an operation
/// of a service that uses the generic bindings of
/// `google/longrunning/operations.proto`:
///
/// - `projects/{project}/operations/{id}`, Earth Engine's form;
/// - `operations/{id}`, the generic form (no project).
///
/// A bare task id (`{id}`, no `/`) names an operation only together with a
/// project: [`OperationName::resolve`] completes it, as a client built with
/// [`ClientBuilder::with_project`](crate::ClientBuilder::with_project) does
/// for every name it is given. Ids may have `/` in them; no segment may be
/// empty, `.` or `..`, or hold whitespace or control characters.
///
/// ```
/// use eeops::OperationName;
///
/// let name: OperationName = "projects/my-project/operations/ABC123".parse()?;
/// assert_eq!(name.project(), Some("my-project"));
/// assert_eq!(name.id(), "ABC123");
/// assert_eq!(name.parent(), "projects/my-project");
///
/// // A bare id is completed in a project; a full name is kept.
/// let bare = OperationName::resolve("ABC123", Some("my-project"))?;
/// assert_eq!(bare, name);
/// assert_eq!(bare.to_string(), "projects/my-project/operations/ABC123");
///
/// // What is wrong is said.
/// let error = "projects//operations/ABC123".parse::<OperationName>().unwrap_err();
/// assert!(error.message().contains("empty project"), "{error}");
/// let error = OperationName::resolve("ABC123", None).unwrap_err();
/// assert!(error.message().contains("needs a project"), "{error}");
/// # Ok::<(), eeops::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OperationName {
    project: Option<String>,
    id: String,
}

/// What comes before a project's operation ids.
const PROJECTS: &str = "projects/";
const OPERATIONS: &str = "/operations/";
const UNSCOPED: &str = "operations/";

impl OperationName {
    /// `projects/{project}/operations/{id}`.
    pub fn new(project: impl Into<String>, id: impl Into<String>) -> Result<Self> {
        let (project, id) = (project.into(), id.into());
        let full = format!("{PROJECTS}{project}{OPERATIONS}{id}");
        check_project(&full, &project)?;
        check_id(&full, &id)?;
        Ok(Self {
            project: Some(project),
            id,
        })
    }

    /// `operations/{id}`, the generic form of services without projects.
    pub fn unscoped(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        check_id(&format!("{UNSCOPED}{id}"), &id)?;
        Ok(Self { project: None, id })
    }

    /// Parses a full name (`projects/{project}/operations/{id}` or
    /// `operations/{id}`); a bare id is refused, as it needs a project (see
    /// [`OperationName::resolve`]).
    pub fn parse(name: &str) -> Result<Self> {
        Self::resolve(name, None)
    }

    /// A full name as it is, or a bare id (no `/`) in `project`.
    pub fn resolve(id_or_name: &str, project: Option<&str>) -> Result<Self> {
        if id_or_name.trim().is_empty() {
            return Err(invalid(id_or_name, "it is empty"));
        }
        if let Some(id) = id_or_name.strip_prefix(UNSCOPED) {
            check_id(id_or_name, id)?;
            return Ok(Self {
                project: None,
                id: id.to_owned(),
            });
        }
        if let Some(rest) = id_or_name.strip_prefix(PROJECTS) {
            let Some((project, id)) = rest.split_once(OPERATIONS) else {
                return Err(invalid(id_or_name, EXPECTED));
            };
            check_project(id_or_name, project)?;
            check_id(id_or_name, id)?;
            return Ok(Self {
                project: Some(project.to_owned()),
                id: id.to_owned(),
            });
        }
        if id_or_name.contains('/') {
            return Err(invalid(id_or_name, EXPECTED));
        }
        let Some(project) = project else {
            return Err(invalid(id_or_name, BARE_ID_NEEDS_PROJECT));
        };
        check_id(id_or_name, id_or_name)?;
        Self::new(project, id_or_name)
    }

    /// The project, or `None` for a name of the generic form.
    pub fn project(&self) -> Option<&str> {
        self.project.as_deref()
    }

    /// The task id: everything after `operations/`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The parent to list this operation under: `projects/{project}`, or
    /// `operations` for the generic form.
    pub fn parent(&self) -> String {
        match &self.project {
            Some(project) => format!("{PROJECTS}{project}"),
            None => "operations".to_owned(),
        }
    }
}

impl fmt::Display for OperationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.project {
            Some(project) => write!(f, "{PROJECTS}{project}{OPERATIONS}{}", self.id),
            None => write!(f, "{UNSCOPED}{}", self.id),
        }
    }
}

impl FromStr for OperationName {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        Self::parse(name)
    }
}

impl From<OperationName> for String {
    fn from(name: OperationName) -> String {
        name.to_string()
    }
}

impl From<&OperationName> for String {
    fn from(name: &OperationName) -> String {
        name.to_string()
    }
}

const EXPECTED: &str = "expected projects/{project}/operations/{id}, operations/{id} or a bare id";

/// Added to the error for a bare id that has no project to go in.
const BARE_ID_NEEDS_PROJECT: &str = "a bare id needs a project (ClientBuilder::with_project)";

fn invalid(name: &str, why: &str) -> Error {
    Error::local(
        Origin::Request,
        Code::InvalidArgument,
        format!("invalid operation name {name:?}: {why}"),
    )
}

fn check_project(name: &str, project: &str) -> Result<()> {
    if project.is_empty() {
        return Err(invalid(name, "empty project"));
    }
    if project.contains('/') {
        return Err(invalid(name, "a project is one segment, without '/'"));
    }
    match bad_segment(project) {
        Some(why) => Err(invalid(name, &format!("its project {why}"))),
        None => Ok(()),
    }
}

fn check_id(name: &str, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(invalid(name, "empty id"));
    }
    match bad_segment(id) {
        Some(why) => Err(invalid(name, &format!("its id {why}"))),
        None => Ok(()),
    }
}

/// What is wrong with the segments of `text`, if anything.
fn bad_segment(text: &str) -> Option<String> {
    text.split('/').find_map(|segment| match segment {
        "" => Some("has an empty segment".to_owned()),
        "." | ".." => Some(format!("has a {segment:?} segment")),
        _ => segment
            .chars()
            .find(|c| c.is_whitespace() || c.is_control())
            .map(|c| format!("has the character {c:?}")),
    })
}

/// The full name the client's methods use for `id_or_name`: a bare id (no
/// `/`) in `project` when there is one; anything else as given (names of
/// other services have forms of their own; the routes judge them).
pub(crate) fn qualify(id_or_name: String, project: Option<&str>) -> String {
    match project {
        Some(project) if !id_or_name.is_empty() && !id_or_name.contains('/') => {
            format!("{PROJECTS}{project}{OPERATIONS}{id_or_name}")
        }
        _ => id_or_name,
    }
}

/// The one rule for the names calls send, whatever the transport: the
/// name must fit one of the routes' bindings for the RPC (what it names
/// is `what`: `operation` or `parent`). An RPC without bindings is not
/// judged here (a gRPC server may still serve it). Empty names are
/// refused earlier.
pub(crate) fn check_fits_routes(routes: &Routes, rpc: Rpc, what: &str, name: &str) -> Result<()> {
    let rules = routes.rules(rpc);
    let mut reasons: Vec<String> = Vec::new();
    for rule in rules {
        match rule.template.fits("name", name) {
            Ok(()) => return Ok(()),
            Err(reason) if !reasons.contains(&reason) => reasons.push(reason),
            Err(_) => {}
        }
    }
    if reasons.is_empty() {
        return Ok(());
    }
    let templates: Vec<&str> = rules.iter().map(|rule| rule.template.as_str()).collect();
    let mut message = format!(
        "invalid {what} name {name:?}: {} (templates: {})",
        reasons.join("; or "),
        templates.join(", ")
    );
    if what == "operation" && !name.contains('/') {
        message.push_str("; ");
        message.push_str(BARE_ID_NEEDS_PROJECT);
    }
    Err(Error::local(
        Origin::Request,
        Code::InvalidArgument,
        message,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::ApiVersion;

    #[test]
    fn full_names_and_ids_round_trip() -> Result<()> {
        for text in [
            "projects/p/operations/ABC",
            "projects/my-project/operations/a/b",
            "operations/xyz",
        ] {
            let name = OperationName::parse(text)?;
            assert_eq!(name.to_string(), text);
            assert_eq!(String::from(&name), text);
        }
        let name = OperationName::resolve("ABC", Some("p"))?;
        assert_eq!(name, OperationName::new("p", "ABC")?);
        assert_eq!(name.parent(), "projects/p");
        assert_eq!(OperationName::unscoped("x")?.parent(), "operations");
        // A full name keeps its own project.
        let other = OperationName::resolve("projects/q/operations/ABC", Some("p"))?;
        assert_eq!(other.project(), Some("q"));
        Ok(())
    }

    #[test]
    fn bad_names_say_what_is_wrong() {
        for (text, project, says) in [
            ("", Some("p"), "empty"),
            ("ABC", None, "needs a project"),
            ("projects/p/tasks/ABC", None, "expected projects/{project}"),
            ("tasks/ABC", Some("p"), "expected projects/{project}"),
            ("projects//operations/ABC", None, "empty project"),
            ("projects/p/operations/", None, "empty id"),
            ("projects/p/operations/a//b", None, "empty segment"),
            ("projects/p/operations/..", None, "\"..\" segment"),
            ("projects/p/operations/a b", None, "' '"),
            ("operations/", None, "empty id"),
            ("A B", Some("p"), "' '"),
        ] {
            let error = OperationName::resolve(text, project).expect_err(text);
            assert_eq!(error.code(), Code::InvalidArgument);
            assert!(
                error.message().contains(says) && error.message().contains(&format!("{text:?}")),
                "{text}: {error}"
            );
        }
        assert!(OperationName::new("a/b", "x").is_err());
    }

    #[test]
    fn bare_ids_are_completed_in_the_project_only() {
        assert_eq!(
            qualify("ABC".into(), Some("p")),
            "projects/p/operations/ABC"
        );
        assert_eq!(qualify("ABC".into(), None), "ABC");
        assert_eq!(
            qualify("projects/q/operations/ABC".into(), Some("p")),
            "projects/q/operations/ABC"
        );
        assert_eq!(qualify(String::new(), Some("p")), "");
    }

    #[test]
    fn names_are_judged_by_the_routes() {
        let routes = Routes::earth_engine(ApiVersion::V1);
        let fits = |rpc, what, name| check_fits_routes(&routes, rpc, what, name);
        assert!(fits(Rpc::GetOperation, "operation", "projects/p/operations/a/b").is_ok());
        assert!(fits(Rpc::ListOperations, "parent", "projects/p").is_ok());
        let error = fits(Rpc::GetOperation, "operation", "ABC").expect_err("bare");
        assert!(
            error.message().contains("projects/*/operations/**")
                && error.message().contains("with_project"),
            "{error}"
        );
        let error = fits(Rpc::ListOperations, "parent", "projects/p/x").expect_err("parent");
        assert!(
            error.message().starts_with("invalid parent name"),
            "{error}"
        );
        let error = fits(
            Rpc::CancelOperation,
            "operation",
            "projects/p/operations/..",
        )
        .expect_err("dot");
        assert!(error.message().contains("\"..\""), "{error}");
        // No binding: not judged here.
        assert!(
            check_fits_routes(&Routes::generic(), Rpc::WaitOperation, "operation", "x").is_ok()
        );
    }
}
