//! The API discovery document of the emulated Earth Engine API, generated
//! from the same route table, so that clients built from discovery (such as
//! the Earth Engine Python client) can call the emulator.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::routing::get;
use http::{Method, Response, StatusCode};
use serde_json::{Value, json};

use super::reply::{error_response, json_response, not_allowed};
use crate::error::Error;
use crate::proto::rpc::Code;
use crate::routes::{ApiVersion, Routes, Rpc};

/// The path clients fetch the document from (`?version=v1`).
const DISCOVERY_PATH: &str = "/$discovery/rest";

/// The discovery document and the algorithms lists, open to every caller.
pub(crate) fn routes() -> Router {
    let only_get = || |method: Method| async move { not_allowed(&method, "GET") };
    let mut router =
        Router::new().route(DISCOVERY_PATH, get(discovery_response).fallback(only_get()));
    for version in ApiVersion::ALL {
        router = router.route(
            &format!("/{}/projects/{{project}}/algorithms", version.as_str()),
            get(|| async { json_response(StatusCode::OK, &json!({"algorithms": []})) })
                .fallback(only_get()),
        );
    }
    router
}

/// The discovery document for the version asked for, rooted at the host the
/// client used.
async fn discovery_response(request: Request) -> Response<Body> {
    let query = request.uri().query().unwrap_or_default();
    let Some(version) = requested_version(query) else {
        let error = Error::new(
            Code::NotFound,
            format!("no discovery document for {query:?}; versions are v1, v1beta, v1alpha"),
        );
        return error_response(&error.into());
    };
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|host| host.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(ToString::to_string))
        .unwrap_or_else(|| "localhost".to_owned());
    json_response(
        StatusCode::OK,
        &document(version, &format!("http://{host}/")),
    )
}

/// Parses `version=...` from a discovery request's query (v1 by default).
fn requested_version(query: &str) -> Option<ApiVersion> {
    let requested = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("version="))
        .unwrap_or("v1");
    ApiVersion::ALL
        .into_iter()
        .find(|version| version.as_str() == requested)
}

/// The discovery document for `version`, with `root_url` (such as
/// `http://127.0.0.1:8080/`) as the base of every call.
pub(crate) fn document(version: ApiVersion, root_url: &str) -> Value {
    let routes = Routes::earth_engine(version);
    let mut methods = serde_json::Map::new();
    for rpc in Rpc::ALL {
        if let Some(rule) = routes.rules(rpc).first() {
            methods.insert(
                method_name(rpc).to_owned(),
                method(rpc, rule.method.as_str(), rule.template.as_str()),
            );
        }
    }
    json!({
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": format!("earthengine:{}", version.as_str()),
        "name": "earthengine",
        "version": version.as_str(),
        "title": "Google Earth Engine API (eeops emulator)",
        "description": "Earth Engine's projects.operations, as the eeops emulator serves them.",
        "protocol": "rest",
        "rootUrl": root_url,
        "servicePath": "",
        "baseUrl": root_url,
        "batchPath": "batch",
        "parameters": standard_parameters(),
        "resources": {"projects": {"resources": {
            "operations": {"methods": methods},
            "algorithms": {"methods": {"list": algorithms_list(version)}},
        }}},
        "schemas": schemas(),
    })
}

fn method_name(rpc: Rpc) -> &'static str {
    match rpc {
        Rpc::GetOperation => "get",
        Rpc::ListOperations => "list",
        Rpc::CancelOperation => "cancel",
        Rpc::DeleteOperation => "delete",
        Rpc::WaitOperation => "wait",
    }
}

/// `/v1/{name=projects/*/operations/**}:cancel` becomes the discovery path
/// `v1/{+name}:cancel` and the parameter pattern `^projects/[^/]+/operations/.*$`.
fn split_template(template: &str) -> (String, String) {
    let trimmed = template.trim_start_matches('/');
    let Some(open) = trimmed.find("{name=") else {
        return (trimmed.to_owned(), ".*".to_owned());
    };
    let close = trimmed[open..]
        .find('}')
        .map_or(trimmed.len(), |end| open + end);
    let pattern = &trimmed[open + "{name=".len()..close];
    let regex = pattern
        .split('/')
        .map(|segment| match segment {
            "**" => ".*".to_owned(),
            "*" => "[^/]+".to_owned(),
            literal => literal.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/");
    let path = format!(
        "{}{{+name}}{}",
        &trimmed[..open],
        &trimmed[(close + 1).min(trimmed.len())..]
    );
    (path, format!("^{regex}$"))
}

fn method(rpc: Rpc, http_method: &str, template: &str) -> Value {
    let (path, pattern) = split_template(template);
    let mut parameters = json!({
        "name": {"type": "string", "location": "path", "required": true, "pattern": pattern,
                 "description": "The name of the operation resource (for list, its parent)."}
    });
    if rpc == Rpc::ListOperations {
        parameters["filter"] = json!({"type": "string", "location": "query"});
        parameters["pageSize"] = json!({"type": "integer", "format": "int32", "location": "query"});
        parameters["pageToken"] = json!({"type": "string", "location": "query"});
        parameters["returnPartialSuccess"] = json!({"type": "boolean", "location": "query"});
    }
    let mut method = json!({
        "id": format!("earthengine.projects.operations.{}", method_name(rpc)),
        "path": path,
        "flatPath": path,
        "httpMethod": http_method,
        "parameters": parameters,
        "parameterOrder": ["name"],
        "response": {"$ref": match rpc {
            Rpc::ListOperations => "ListOperationsResponse",
            Rpc::GetOperation | Rpc::WaitOperation => "Operation",
            Rpc::CancelOperation | Rpc::DeleteOperation => "Empty",
        }},
        "scopes": [
            "https://www.googleapis.com/auth/cloud-platform",
            "https://www.googleapis.com/auth/earthengine",
        ],
    });
    match rpc {
        Rpc::CancelOperation => method["request"] = json!({"$ref": "CancelOperationRequest"}),
        Rpc::WaitOperation => method["request"] = json!({"$ref": "WaitOperationRequest"}),
        _ => {}
    }
    method
}

/// `projects.algorithms.list`, which the Earth Engine client calls while it
/// initialises; the emulator has no algorithms and answers an empty list.
fn algorithms_list(version: ApiVersion) -> Value {
    let path = format!("{}/{{+parent}}/algorithms", version.as_str());
    json!({
        "id": "earthengine.projects.algorithms.list",
        "path": path,
        "flatPath": path,
        "httpMethod": "GET",
        "parameters": {"parent": {"type": "string", "location": "path", "required": true, "pattern": "^projects/[^/]+$"}},
        "parameterOrder": ["parent"],
        "response": {"$ref": "ListAlgorithmsResponse"},
    })
}

fn standard_parameters() -> Value {
    let text = |description: &str| json!({"type": "string", "location": "query", "description": description});
    json!({
        "alt": {"type": "string", "location": "query", "default": "json", "enum": ["json"]},
        "prettyPrint": {"type": "boolean", "location": "query", "default": "true"},
        "fields": text("Selector specifying which fields to include in a partial response."),
        "key": text("API key."),
        "access_token": text("OAuth access token."),
        "oauth_token": text("OAuth 2.0 token for the current user."),
        "quotaUser": text("Quota attribution."),
        "upload_protocol": text("Upload protocol for media."),
        "uploadType": text("Legacy upload protocol for media."),
        "$.xgafv": {"type": "string", "location": "query", "enum": ["1", "2"]},
    })
}

fn schemas() -> Value {
    json!({
        "Operation": {"id": "Operation", "type": "object", "properties": {
            "name": {"type": "string"},
            "metadata": {"type": "object", "additionalProperties": {"type": "any"}},
            "done": {"type": "boolean"},
            "error": {"$ref": "Status"},
            "response": {"type": "object", "additionalProperties": {"type": "any"}},
        }},
        "Status": {"id": "Status", "type": "object", "properties": {
            "code": {"type": "integer", "format": "int32"},
            "message": {"type": "string"},
            "details": {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "any"}}},
        }},
        "ListOperationsResponse": {"id": "ListOperationsResponse", "type": "object", "properties": {
            "operations": {"type": "array", "items": {"$ref": "Operation"}},
            "nextPageToken": {"type": "string"},
            "unreachable": {"type": "array", "items": {"type": "string"}},
        }},
        "Empty": {"id": "Empty", "type": "object", "properties": {}},
        "ListAlgorithmsResponse": {"id": "ListAlgorithmsResponse", "type": "object", "properties": {
            "algorithms": {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "any"}}},
        }},
        "CancelOperationRequest": {"id": "CancelOperationRequest", "type": "object", "properties": {}},
        "WaitOperationRequest": {"id": "WaitOperationRequest", "type": "object", "properties": {
            "timeout": {"type": "string", "format": "google-duration"},
        }},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_become_discovery_paths_and_patterns() {
        assert_eq!(
            split_template("/v1/{name=projects/*/operations/**}:cancel"),
            (
                "v1/{+name}:cancel".to_owned(),
                "^projects/[^/]+/operations/.*$".to_owned()
            )
        );
        assert_eq!(
            split_template("/v1beta/{name=projects/*}/operations"),
            (
                "v1beta/{+name}/operations".to_owned(),
                "^projects/[^/]+$".to_owned()
            )
        );
    }

    #[test]
    fn the_document_has_every_method_and_its_paging() {
        let doc = document(ApiVersion::V1alpha, "http://127.0.0.1:1/");
        let methods = &doc["resources"]["projects"]["resources"]["operations"]["methods"];
        for name in ["get", "list", "cancel", "delete", "wait"] {
            assert!(
                methods[name]["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("v1alpha/")),
                "{name}"
            );
        }
        assert_eq!(
            methods["list"]["parameters"]["pageToken"]["location"],
            "query"
        );
        assert_eq!(
            doc["schemas"]["ListOperationsResponse"]["properties"]["nextPageToken"]["type"],
            "string"
        );
    }
}
