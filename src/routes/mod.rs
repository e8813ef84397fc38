//! HTTP/JSON routes: google.api.http path templates, the per-API route
//! tables, and transcoding of requests onto them. The REST transport and the
//! emulator's REST side share these tables.

pub(crate) mod template;
pub(crate) mod transcode;

use template::PathTemplate;

/// One HTTP binding of an RPC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HttpRule {
    /// `GET`, `POST`, `DELETE`, ...
    pub(crate) method: http::Method,
    pub(crate) template: PathTemplate,
    /// `*` for every field not in the path, a field name, or none.
    pub(crate) body: Option<String>,
}

impl HttpRule {
    pub(crate) fn new(method: &str, template: &str, body: Option<&str>) -> Result<Self, String> {
        let method = http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("{method:?} is not an HTTP method"))?;
        Ok(Self {
            method,
            template: PathTemplate::parse(template).map_err(|e| e.to_string())?,
            body: body.map(str::to_owned),
        })
    }
}

/// The five Operations RPCs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rpc {
    /// `GetOperation`.
    GetOperation,
    /// `ListOperations`.
    ListOperations,
    /// `CancelOperation`.
    CancelOperation,
    /// `DeleteOperation`.
    DeleteOperation,
    /// `WaitOperation`.
    WaitOperation,
}

impl Rpc {
    /// Every RPC, in the order a server tries their routes: List before Get,
    /// because Earth Engine's Get template also matches a list URL (its `**`
    /// may match nothing).
    pub const ALL: [Rpc; 5] = [
        Rpc::ListOperations,
        Rpc::GetOperation,
        Rpc::DeleteOperation,
        Rpc::CancelOperation,
        Rpc::WaitOperation,
    ];

    /// The RPC's name, as in the service definition.
    pub fn name(self) -> &'static str {
        match self {
            Rpc::GetOperation => "GetOperation",
            Rpc::ListOperations => "ListOperations",
            Rpc::CancelOperation => "CancelOperation",
            Rpc::DeleteOperation => "DeleteOperation",
            Rpc::WaitOperation => "WaitOperation",
        }
    }

    fn index(self) -> usize {
        match self {
            Rpc::GetOperation => 0,
            Rpc::ListOperations => 1,
            Rpc::CancelOperation => 2,
            Rpc::DeleteOperation => 3,
            Rpc::WaitOperation => 4,
        }
    }
}

/// An Earth Engine REST API version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiVersion {
    /// `v1`, the stable API.
    #[default]
    V1,
    /// `v1beta`.
    V1beta,
    /// `v1alpha`.
    V1alpha,
}

impl ApiVersion {
    /// Every version.
    pub const ALL: [ApiVersion; 3] = [ApiVersion::V1, ApiVersion::V1beta, ApiVersion::V1alpha];

    /// The version as it appears in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1",
            ApiVersion::V1beta => "v1beta",
            ApiVersion::V1alpha => "v1alpha",
        }
    }
}

/// The HTTP bindings of the five RPCs for one API: data, not code, so that
/// every API (and every user's private deployment) can have its own.
///
/// For each RPC the bindings are tried in order (a primary binding, then
/// additional ones) and the first whose template the request's fields fit is
/// used. An RPC without bindings is UNIMPLEMENTED over REST.
///
/// ```
/// use eeops::{ApiVersion, Routes, Rpc};
///
/// let earth_engine = Routes::earth_engine(ApiVersion::V1beta);
/// let mine = Routes::empty()
///     .with_binding(Rpc::GetOperation, "GET", "/v2/{name=tenants/*/jobs/**}", None)
///     .with_binding(Rpc::GetOperation, "GET", "/v2/{name=jobs/**}", None)
///     .with_binding(Rpc::CancelOperation, "POST", "/v2/{name=tenants/*/jobs/**}:cancel", Some("*"));
/// # let _ = (earth_engine, mine);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routes {
    rules: [Vec<HttpRule>; 5],
    invalid: Option<String>,
}

impl Routes {
    /// No bindings at all.
    pub fn empty() -> Self {
        Self {
            rules: Default::default(),
            invalid: None,
        }
    }

    /// Earth Engine's `projects.operations` bindings for one API version.
    pub fn earth_engine(version: ApiVersion) -> Self {
        let v = version.as_str();
        Self::empty()
            .with_binding(
                Rpc::GetOperation,
                "GET",
                &format!("/{v}/{{name=projects/*/operations/**}}"),
                None,
            )
            .with_binding(
                Rpc::ListOperations,
                "GET",
                &format!("/{v}/{{name=projects/*}}/operations"),
                None,
            )
            .with_binding(
                Rpc::CancelOperation,
                "POST",
                &format!("/{v}/{{name=projects/*/operations/**}}:cancel"),
                Some("*"),
            )
            .with_binding(
                Rpc::DeleteOperation,
                "DELETE",
                &format!("/{v}/{{name=projects/*/operations/**}}"),
                None,
            )
            .with_binding(
                Rpc::WaitOperation,
                "POST",
                &format!("/{v}/{{name=projects/*/operations/**}}:wait"),
                Some("*"),
            )
    }

    /// The bindings in `google/longrunning/operations.proto` (which gives
    /// WaitOperation none).
    pub fn generic() -> Self {
        Self::empty()
            .with_binding(Rpc::GetOperation, "GET", "/v1/{name=operations/**}", None)
            .with_binding(Rpc::ListOperations, "GET", "/v1/{name=operations}", None)
            .with_binding(
                Rpc::CancelOperation,
                "POST",
                "/v1/{name=operations/**}:cancel",
                Some("*"),
            )
            .with_binding(
                Rpc::DeleteOperation,
                "DELETE",
                "/v1/{name=operations/**}",
                None,
            )
    }

    /// Adds a binding for `rpc` after those it has: `method` such as `GET`,
    /// an HttpRule path template, and the body (`*`, a field name, or none).
    /// An invalid template is reported when a client is built with these
    /// routes.
    #[must_use]
    pub fn with_binding(
        mut self,
        rpc: Rpc,
        method: &str,
        template: &str,
        body: Option<&str>,
    ) -> Self {
        match HttpRule::new(method, template, body) {
            Ok(rule) => self.rules[rpc.index()].push(rule),
            Err(error) => {
                self.invalid
                    .get_or_insert_with(|| format!("{} binding: {error}", rpc.name()));
            }
        }
        self
    }

    /// Every binding of all of `others` after this table's own.
    #[must_use]
    pub fn and(mut self, others: &Routes) -> Self {
        for (mine, theirs) in self.rules.iter_mut().zip(&others.rules) {
            mine.extend(theirs.iter().cloned());
        }
        if self.invalid.is_none() {
            self.invalid.clone_from(&others.invalid);
        }
        self
    }

    pub(crate) fn rules(&self, rpc: Rpc) -> &[HttpRule] {
        &self.rules[rpc.index()]
    }

    /// The first problem found while adding bindings, if any.
    pub(crate) fn problem(&self) -> Option<&str> {
        self.invalid.as_deref()
    }

    /// Every (RPC, binding), in the order a server should try them.
    #[cfg(any(test, feature = "emulator"))]
    pub(crate) fn server_order(&self) -> impl Iterator<Item = (Rpc, &HttpRule)> {
        Rpc::ALL
            .into_iter()
            .flat_map(move |rpc| self.rules(rpc).iter().map(move |rule| (rpc, rule)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_built_without_problems() {
        for version in ApiVersion::ALL {
            let routes = Routes::earth_engine(version);
            assert_eq!(routes.problem(), None);
            for rpc in Rpc::ALL {
                assert_eq!(routes.rules(rpc).len(), 1, "{rpc:?}");
            }
        }
        let generic = Routes::generic();
        assert!(generic.rules(Rpc::WaitOperation).is_empty());
    }

    #[test]
    fn a_bad_template_is_kept_until_used() {
        let routes = Routes::empty().with_binding(Rpc::GetOperation, "GET", "v1/{name", None);
        assert!(routes.problem().is_some_and(|p| p.contains("GetOperation")));
    }

    #[test]
    fn list_is_tried_before_get_on_the_server() {
        let routes = Routes::earth_engine(ApiVersion::V1);
        let path = "/v1/projects/p/operations";
        let first = routes
            .server_order()
            .find(|(_, rule)| rule.method == "GET" && rule.template.matches(path).is_some())
            .map(|(rpc, _)| rpc);
        assert_eq!(first, Some(Rpc::ListOperations));
    }
}
