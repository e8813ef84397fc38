//! Property tests over generated resource names and the built-in route
//! tables.

use proptest::prelude::*;

use super::oracle::check_expansion;
use super::*;
use crate::routes::{ApiVersion, Routes, Rpc};

/// One resource-name segment: never empty, `.` nor `..`, and otherwise
/// anything without `/`: arbitrary Unicode, the characters a URL gives a
/// meaning to (`%`, `?`, `#`, `:`...), and dots.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^/]{1,12}",
        "[%?#:;=&+@!$'()*,\\[\\]{}|\\\\^`\"<> a-zA-Z0-9_~-]{1,10}",
        "%[0-9a-fA-F]{2}|%2[eEfF]|%25[0-9A-F]{0,2}|%|%[G-Zg-z]{1,2}",
        "\\.{3,5}|\\.[^/.]{1,4}|[^/.]{1,4}\\.|\\.\\.[^/.]{1,3}",
        "[\\u{80}-\\u{10FFFF}]{1,4}",
    ]
    .prop_filter("not a dot segment", |s| s != "." && s != "..")
}

/// Several segments joined with `/`.
fn segments(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..=max).prop_map(|parts| parts.join("/"))
}

/// An Earth Engine operation name: `projects/P/operations/ID[/...]`,
/// or the bare `projects/P/operations` the `**` also accepts.
fn earth_engine_operation() -> impl Strategy<Value = String> {
    (segment(), prop::option::of(segments(4))).prop_map(|(project, id)| match id {
        Some(id) => format!("projects/{project}/operations/{id}"),
        None => format!("projects/{project}/operations"),
    })
}

/// A generic operation name: `operations[/...]`.
fn generic_operation() -> impl Strategy<Value = String> {
    prop::option::of(segments(4)).prop_map(|id| match id {
        Some(id) => format!("operations/{id}"),
        None => "operations".to_owned(),
    })
}

/// Any text at all that may be given as a name, including empty, dot and
/// doubled-slash segments, leading and trailing `/`, and percent escapes.
fn any_name() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => segment(),
        1 => Just(String::new()),
        1 => Just(".".to_owned()),
        1 => Just("..".to_owned()),
        1 => Just("%2E%2E".to_owned()),
        1 => Just("%2F".to_owned()),
        1 => Just("projects".to_owned()),
        1 => Just("operations".to_owned()),
    ];
    prop_oneof![
        "\\PC{0,24}",
        ".{0,24}",
        prop::collection::vec(piece, 0..7).prop_map(|parts| parts.join("/")),
        earth_engine_operation().prop_map(|name| format!("/{name}")),
        earth_engine_operation().prop_map(|name| format!("{name}/")),
    ]
}

/// Every binding of every built-in table.
fn every_binding() -> Vec<(Rpc, PathTemplate)> {
    ApiVersion::ALL
        .into_iter()
        .map(Routes::earth_engine)
        .chain([Routes::generic()])
        .flat_map(|routes| {
            Rpc::ALL
                .into_iter()
                .flat_map(|rpc| {
                    routes
                        .rules(rpc)
                        .iter()
                        .map(|rule| (rpc, rule.template.clone()))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Expands `name` into `template`; the expansion must succeed and match
/// back to exactly `name`.
fn round_trip(template: &PathTemplate, name: &str) -> Result<(), TestCaseError> {
    let path = template
        .expand(&|_| Some(name.to_owned()))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(
        template.matches(&path),
        Some(vec![("name".to_owned(), name.to_owned())]),
        "{} {:?} {}",
        template.as_str(),
        name,
        path
    );
    check_expansion(template, name, &path).map_err(TestCaseError::fail)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// (a) Every Earth Engine operation name expands onto Get, Cancel,
    /// Delete and Wait of every version and matches back to itself.
    #[test]
    fn earth_engine_operation_names_round_trip(name in earth_engine_operation()) {
        for version in ApiVersion::ALL {
            let routes = Routes::earth_engine(version);
            for rpc in [Rpc::GetOperation, Rpc::CancelOperation, Rpc::DeleteOperation, Rpc::WaitOperation] {
                for rule in routes.rules(rpc) {
                    round_trip(&rule.template, &name)?;
                }
            }
        }
    }

    /// (a) Every project name expands onto every version's List.
    #[test]
    fn earth_engine_parents_round_trip(project in segment()) {
        let name = format!("projects/{project}");
        for version in ApiVersion::ALL {
            for rule in Routes::earth_engine(version).rules(Rpc::ListOperations) {
                round_trip(&rule.template, &name)?;
            }
        }
    }

    /// (a) Every generic operation name expands onto the generic Get,
    /// Cancel and Delete and matches back to itself.
    #[test]
    fn generic_operation_names_round_trip(name in generic_operation()) {
        let routes = Routes::generic();
        for rpc in [Rpc::GetOperation, Rpc::CancelOperation, Rpc::DeleteOperation] {
            for rule in routes.rules(rpc) {
                round_trip(&rule.template, &name)?;
            }
        }
    }

    /// (a) A single-segment variable takes any value at all but the
    /// empty string, `.` and `..`, `/` included.
    #[test]
    fn single_segment_values_round_trip(value in any_name()) {
        let template = PathTemplate::parse("/v1/{name}:act").map_err(|e| TestCaseError::fail(e.to_string()))?;
        match template.expand(&|_| Some(value.clone())) {
            Ok(_) => round_trip(&template, &value)?,
            Err(_) => prop_assert!(matches!(value.as_str(), "" | "." | "..")),
        }
    }

    /// (b) Whatever the name, each binding either refuses it or gives a
    /// path that addresses exactly it.
    #[test]
    fn no_expansion_addresses_another_resource(name in any_name()) {
        for (_, template) in every_binding() {
            if let Ok(path) = template.expand(&|_| Some(name.clone())) {
                check_expansion(&template, &name, &path).map_err(TestCaseError::fail)?;
            }
        }
    }

    /// (b) Names with an empty, `.` or `..` segment are refused by every
    /// multi-segment binding.
    #[test]
    fn dot_and_empty_segments_are_refused(
        before in segments(3),
        bad in prop_oneof![Just(""), Just("."), Just("..")],
        after in prop::option::of(segments(2)),
    ) {
        let name = match after {
            Some(after) => format!("{before}/{bad}/{after}"),
            None => format!("{before}/{bad}"),
        };
        for (_, template) in every_binding() {
            prop_assert!(
                template.expand(&|_| Some(name.clone())).is_err(),
                "{} accepted {:?}",
                template.as_str(),
                name
            );
        }
    }

    /// Matching never panics on arbitrary raw paths, and whatever it
    /// accepts expands back to a path it accepts with the same value.
    #[test]
    fn matching_arbitrary_paths_is_consistent(tail in "[/%a-zA-Z0-9.:\\u{e9}]{0,30}") {
        for (_, template) in every_binding() {
            for path in [format!("/v1/{tail}"), format!("/v1/projects/p/operations/{tail}"), tail.clone()] {
                if let Some(values) = template.matches(&path) {
                    let [(_, value)] = values.as_slice() else {
                        return Err(TestCaseError::fail("one variable per binding"));
                    };
                    let again = template
                        .expand(&|_| Some(value.clone()))
                        .map_err(|e| TestCaseError::fail(format!("{path:?}: {e}")))?;
                    check_expansion(&template, value, &again).map_err(TestCaseError::fail)?;
                }
            }
        }
    }
}
