//! Unit tests: parsing, the conformance vectors, expansion and matching.

use super::*;

/// Parses a template that the test knows to be valid.
fn template(text: &str) -> PathTemplate {
    PathTemplate::parse(text).expect("valid template")
}

/// Expands `text` with every variable set to `value`.
fn expand(text: &str, value: &str) -> Result<String, TemplateError> {
    template(text).expand(&|_| Some(value.to_owned()))
}

const EE_GET: &str = "/v1/{name=projects/*/operations/**}";
const EE_CANCEL: &str = "/v1/{name=projects/*/operations/**}:cancel";
const EE_LIST: &str = "/v1/{name=projects/*}/operations";
const GENERIC_GET: &str = "/v1/{name=operations/**}";
const GENERIC_CANCEL: &str = "/v1/{name=operations/**}:cancel";
const GENERIC_LIST: &str = "/v1/{name=operations}";

#[test]
fn parses_valid_templates() {
    let cases: &[(&str, &[&str], Option<&str>)] = &[
        (EE_GET, &["name"], None),
        (EE_CANCEL, &["name"], Some("cancel")),
        (EE_LIST, &["name"], None),
        (GENERIC_LIST, &["name"], None),
        ("/v1/{name}", &["name"], None),
        ("/v1/{nested.label}/x:act", &["nested.label"], Some("act")),
        ("/v1/{a}/{b_2=x/*}/{c=**}", &["a", "b_2", "c"], None),
        ("/v1/*/things/**", &[], None),
        (
            "/v1beta/{name=projects/*/operations/**}:wait",
            &["name"],
            Some("wait"),
        ),
        ("/v1/a-b.c~d_e!$&'()+,;=@", &[], None),
    ];
    for &(text, variables, verb) in cases {
        let parsed = template(text);
        assert_eq!(parsed.as_str(), text);
        assert_eq!(parsed.variables(), variables, "{text}");
        assert_eq!(parsed.verb(), verb, "{text}");
    }
}

#[test]
fn a_bare_variable_is_a_single_star() {
    assert_eq!(
        template("/v1/{name}").segments,
        template("/v1/{name=*}").segments
    );
}

#[test]
fn refuses_invalid_templates() {
    let cases = [
        "",
        "v1/{name}",
        "/",
        "/v1/",
        "/v1//x",
        "/v1/{name",
        "/v1/{name=projects/*",
        "/v1/name}",
        "/v1/{name=projects/*}}",
        "/v1/{name=projects/{id}}",
        "/v1/{name={id}}",
        "/v1/**/x",
        "/v1/**/**",
        "/v1/{name=**}/x",
        "/v1/{name=a/**/b}",
        "/v1/{name=**}/{other}",
        "/v1/{}",
        "/v1/{=x}",
        "/v1/{name=}",
        "/v1/{name=a//b}",
        "/v1/{1name}",
        "/v1/{a..b}",
        "/v1/{a-b}",
        "/v1/{a}/{a=x/*}",
        "/v1/{name}:",
        "/v1/x:a:b",
        "/v1:x/y",
        "/v1/{name}:{verb}",
        "/v1/a b",
        "/v1/a*",
        "/v1/.",
        "/v1/../x",
        "/v1/caf\u{e9}",
        "/v1/100%25",
        "/v1/x?y",
    ];
    for text in cases {
        let error = PathTemplate::parse(text).expect_err(text);
        let message = error.to_string();
        assert!(message.contains(&format!("{text:?}")), "{message}");
    }
}

#[test]
fn parse_errors_say_why() {
    let reason = |text: &str| PathTemplate::parse(text).expect_err(text).to_string();
    assert!(reason("/v1/{name=a/{b}}").contains("nested"));
    assert!(reason("/v1/{name").contains("unbalanced '{'"));
    assert!(reason("/v1/name}").contains("unbalanced '}'"));
    assert!(reason("/v1/**/x").contains("'**'"));
    assert!(reason("/v1//x").contains("empty segment"));
    assert!(reason("v1").contains("start with '/'"));
}

/// `(template, name, expected URI or None for a client error)`, taken from
/// the shared conformance vectors (groups ee-v1, ee-v1beta, ee-v1alpha,
/// generic-lro, additional-bindings and synthetic).
const VECTORS: &[(&str, &str, Option<&str>)] = &[
    (
        EE_GET,
        "projects/my-project/operations/ABCDEFGHIJKLMNOP",
        Some("/v1/projects/my-project/operations/ABCDEFGHIJKLMNOP"),
    ),
    (
        EE_CANCEL,
        "projects/my-project/operations/ABCDEFGHIJKLMNOP",
        Some("/v1/projects/my-project/operations/ABCDEFGHIJKLMNOP:cancel"),
    ),
    (
        EE_CANCEL,
        "projects/google.com:my-project/operations/op",
        Some("/v1/projects/google.com%3Amy-project/operations/op:cancel"),
    ),
    (
        EE_CANCEL,
        "projects/p/operations/a b",
        Some("/v1/projects/p/operations/a%20b:cancel"),
    ),
    (
        EE_GET,
        "projects/p/operations/a?b#c",
        Some("/v1/projects/p/operations/a%3Fb%23c"),
    ),
    (
        EE_GET,
        "projects/p/operations/100%",
        Some("/v1/projects/p/operations/100%25"),
    ),
    (
        EE_GET,
        "projects/p/operations/a+b",
        Some("/v1/projects/p/operations/a%2Bb"),
    ),
    (
        EE_CANCEL,
        "projects/p/operations/caf\u{e9}-\u{fc}ber",
        Some("/v1/projects/p/operations/caf%C3%A9-%C3%BCber:cancel"),
    ),
    (
        EE_CANCEL,
        "projects/p/operations/a/b/c",
        Some("/v1/projects/p/operations/a/b/c:cancel"),
    ),
    (
        EE_GET,
        "projects/p/operations/x:cancel",
        Some("/v1/projects/p/operations/x%3Acancel"),
    ),
    (
        EE_GET,
        "projects/p/operations/!$&'()*+,;=@:[]",
        Some("/v1/projects/p/operations/%21%24%26%27%28%29%2A%2B%2C%3B%3D%40%3A%5B%5D"),
    ),
    (
        EE_GET,
        "projects/p/operations/\"<>\\^`{|}",
        Some("/v1/projects/p/operations/%22%3C%3E%5C%5E%60%7B%7C%7D"),
    ),
    (
        EE_GET,
        "projects/p/operations/\u{1F600}",
        Some("/v1/projects/p/operations/%F0%9F%98%80"),
    ),
    (
        EE_GET,
        "projects/p/operations/.hidden",
        Some("/v1/projects/p/operations/.hidden"),
    ),
    (EE_CANCEL, "projects/p/operations/../x", None),
    (EE_GET, "projects/p/operations/./x", None),
    (EE_GET, "projects/p/operations/x/..", None),
    (
        EE_GET,
        "projects/p/operations",
        Some("/v1/projects/p/operations"),
    ),
    (EE_GET, "operations/x", None),
    (EE_CANCEL, "operations/x", None),
    (EE_GET, "/projects/p/operations/x", None),
    (EE_GET, "Projects/p/operations/x", None),
    (
        "/v1/{name=projects/*/operations/**}:wait",
        "projects/p/operations",
        Some("/v1/projects/p/operations:wait"),
    ),
    (
        EE_LIST,
        "projects/my-project",
        Some("/v1/projects/my-project/operations"),
    ),
    (
        EE_LIST,
        "projects/google.com:my-project",
        Some("/v1/projects/google.com%3Amy-project/operations"),
    ),
    (
        EE_LIST,
        "projects/a b",
        Some("/v1/projects/a%20b/operations"),
    ),
    (EE_LIST, "projects/p/", None),
    (EE_LIST, "projects/", None),
    (EE_LIST, "projects", None),
    (EE_LIST, "", None),
    (
        "/v1beta/{name=projects/*/operations/**}:cancel",
        "projects/p/operations/../x",
        None,
    ),
    (
        "/v1beta/{name=projects/*/operations/**}",
        "projects/p/operations/a/b/c",
        Some("/v1beta/projects/p/operations/a/b/c"),
    ),
    (
        "/v1alpha/{name=projects/*/operations/**}",
        "projects/p/operations",
        Some("/v1alpha/projects/p/operations"),
    ),
    (
        "/v1alpha/{name=projects/*/operations/**}",
        "projects/google.com:my-project/operations/op",
        Some("/v1alpha/projects/google.com%3Amy-project/operations/op"),
    ),
    (
        GENERIC_GET,
        "operations/abc123",
        Some("/v1/operations/abc123"),
    ),
    (
        GENERIC_CANCEL,
        "operations/a b:c",
        Some("/v1/operations/a%20b%3Ac:cancel"),
    ),
    (GENERIC_CANCEL, "operations", Some("/v1/operations:cancel")),
    (GENERIC_GET, "projects/p/operations/x", None),
    (GENERIC_GET, "operations/../secret", None),
    (GENERIC_CANCEL, "operations/../secret", None),
    (GENERIC_GET, "Operations/x", None),
    (GENERIC_LIST, "operations", Some("/v1/operations")),
    (GENERIC_LIST, "operations/x", None),
    (GENERIC_LIST, "operationsX", None),
    (GENERIC_LIST, "", None),
    (
        "/v1/{name=**}",
        "anything/else entirely",
        Some("/v1/anything/else%20entirely"),
    ),
    ("/v1/{name}", "a/b", Some("/v1/a%2Fb")),
    ("/v1/{name}", "a b:c@d", Some("/v1/a%20b%3Ac%40d")),
    ("/v1/{name=things/*}", "things/a/b", None),
    (
        "/v1/{name=things/*}:act",
        "things/x",
        Some("/v1/things/x:act"),
    ),
];

#[test]
fn expands_the_conformance_vectors() {
    for &(text, value, expected) in VECTORS {
        let actual = expand(text, value).ok();
        assert_eq!(actual.as_deref(), expected, "{text} with {value:?}");
    }
}

#[test]
fn expands_the_first_matching_binding() {
    let bindings = [template(EE_GET), template(GENERIC_GET)];
    let first = |value: &str| {
        bindings
            .iter()
            .find_map(|binding| binding.expand(&|_| Some(value.to_owned())).ok())
    };
    assert_eq!(
        first("projects/p/operations/x").as_deref(),
        Some("/v1/projects/p/operations/x")
    );
    assert_eq!(first("operations/x").as_deref(), Some("/v1/operations/x"));
    assert_eq!(first("other/x"), None);
}

#[test]
fn never_decodes_the_value_first() {
    assert_eq!(
        expand(GENERIC_GET, "operations/a%2Fb").expect("expands"),
        "/v1/operations/a%252Fb"
    );
    assert_eq!(expand("/v1/{name}", "%41").expect("expands"), "/v1/%2541");
}

#[test]
fn single_segment_variables() {
    assert_eq!(
        expand("/v1/{name=*}", "a/b/c").expect("expands"),
        "/v1/a%2Fb%2Fc"
    );
    assert_eq!(expand("/v1/{name}", "..a").expect("expands"), "/v1/..a");
    assert!(expand("/v1/{name}", ".").is_err());
    assert!(expand("/v1/{name}", "..").is_err());
    assert!(expand(GENERIC_LIST, "Operations").is_err());
    assert_eq!(
        expand(GENERIC_LIST, "operations").expect("expands"),
        "/v1/operations"
    );
}

#[test]
fn mismatch_names_the_template_and_the_value() {
    let error = expand(EE_GET, "projects/p/../x").expect_err("dot segments");
    assert_eq!(
        error.to_string(),
        "\"projects/p/../x\" does not match /v1/{name=projects/*/operations/**}: \
         \"..\" segments are not allowed"
    );
    let error = expand(GENERIC_GET, "Operations/x").expect_err("case-sensitive");
    let message = error.to_string();
    assert!(message.contains(GENERIC_GET), "{message}");
    assert!(message.contains("\"Operations/x\""), "{message}");
    assert!(message.contains("operations/**"), "{message}");
    let error = expand(EE_LIST, "projects/").expect_err("empty id");
    assert!(error.to_string().contains("empty segments"), "{error}");
}

#[test]
fn missing_or_empty_values_are_errors() {
    let parsed = template(EE_GET);
    for value in [None, Some(String::new())] {
        let error = parsed.expand(&|_| value.clone()).expect_err("no value");
        let message = error.to_string();
        assert!(message.contains(EE_GET), "{message}");
        assert!(message.contains("\"name\""), "{message}");
    }
}

#[test]
fn expands_each_field_by_its_path() {
    let parsed = template("/v1/{parent=projects/*}/things/{nested.label}:act");
    let value_of = |field: &str| match field {
        "parent" => Some("projects/p".to_owned()),
        "nested.label" => Some("l 1".to_owned()),
        _ => None,
    };
    assert_eq!(
        parsed.expand(&value_of).expect("expands"),
        "/v1/projects/p/things/l%201:act"
    );
}

#[test]
fn unbound_wildcards_cannot_be_expanded() {
    let error = expand("/v1/*/x", "v").expect_err("unbound");
    assert!(error.to_string().contains("/v1/*/x"), "{error}");
}

/// Expands `value` into `text`, matches the result and checks that every
/// variable comes back unchanged.
fn assert_round_trip(text: &str, value: &str) {
    let parsed = template(text);
    let path = parsed.expand(&|_| Some(value.to_owned())).expect("expands");
    let expected: Vec<(String, String)> = parsed
        .variables()
        .into_iter()
        .map(|field| (field.to_owned(), value.to_owned()))
        .collect();
    assert_eq!(
        parsed.matches(&path),
        Some(expected),
        "{text} {value:?} {path}"
    );
}

#[test]
fn round_trips_multi_segment_values() {
    let values = [
        "projects/p/operations/x",
        "projects/p/operations",
        "projects/google.com:my-project/operations/a b",
        "projects/p/operations/100%",
        "projects/p/operations/a%2Fb",
        "projects/p/operations/a%2fb%25",
        "projects/p/operations/caf\u{e9}/\u{1F600}/x:cancel",
        "projects/\u{65e5}\u{672c}/operations/.hidden/..x/...",
        "projects/p/operations/a?b#c&d=e+f~g",
        "projects/p/operations/\"<>\\^`{|}[]",
    ];
    for value in values {
        assert_round_trip(EE_GET, value);
        assert_round_trip(EE_CANCEL, value);
    }
    assert_round_trip(GENERIC_CANCEL, "operations");
    assert_round_trip("/v1/{name=**}", "a/b%/c d");
}

#[test]
fn round_trips_single_segment_values() {
    let values = [
        "a/b",
        "/leading",
        "trailing/",
        "%",
        "a%2Fb",
        ":cancel",
        "x:cancel",
        "\u{65e5}\u{672c}\u{8a9e} text",
        "..a",
        "a/..",
        "\u{1F600}",
    ];
    for value in values {
        assert_round_trip("/v1/{name}", value);
        assert_round_trip("/v1/{name}:cancel", value);
        assert_round_trip("/v1/{a}/x/{b=*}", value);
    }
    assert_round_trip(GENERIC_LIST, "operations");
}

#[test]
fn matches_raw_paths() {
    let pair = |value: &str| Some(vec![("name".to_owned(), value.to_owned())]);
    let cancel = template(EE_CANCEL);
    assert_eq!(
        cancel.matches("/v1/projects/p/operations/a%20b/c:cancel"),
        pair("projects/p/operations/a b/c")
    );
    assert_eq!(
        cancel.matches("/v1/projects/p/operations/a%2Fb:cancel"),
        pair("projects/p/operations/a%2Fb")
    );
    assert_eq!(
        cancel.matches("/v1/projects/p/operations/a%2fb:cancel"),
        pair("projects/p/operations/a%2Fb")
    );
    assert_eq!(
        cancel.matches("/v1/projects/p/operations:cancel"),
        pair("projects/p/operations")
    );
    assert_eq!(cancel.matches("/v1/projects/p/operations/x"), None);
    assert_eq!(cancel.matches("/v1/projects/p/operations/x:wait"), None);
    assert_eq!(cancel.matches("/v1/projects/p/operations/x/:cancel"), None);
    assert_eq!(cancel.matches("/v1/projects//operations/x:cancel"), None);
    assert_eq!(cancel.matches("/v1/Projects/p/operations/x:cancel"), None);
    assert_eq!(cancel.matches("v1/projects/p/operations/x:cancel"), None);

    let single = template("/v1/{name}");
    assert_eq!(single.matches("/v1/a%2Fb"), pair("a/b"));
    assert_eq!(single.matches("/v1/caf%C3%A9"), pair("caf\u{e9}"));
    assert_eq!(single.matches("/v1/caf\u{e9}"), pair("caf\u{e9}"));
    assert_eq!(single.matches("/v1/a/b"), None);
    assert_eq!(single.matches("/v1/"), None);
    assert_eq!(single.matches("/v1"), None);

    let unbound = template("/v1/*/things/**");
    assert_eq!(unbound.matches("/v1/x/things"), Some(Vec::new()));
    assert_eq!(unbound.matches("/v1/x/things/a/b"), Some(Vec::new()));
    assert_eq!(unbound.matches("/v1/x/things/a/%2E%2E"), None);
}

#[test]
fn matches_refuses_dots_and_bad_escapes() {
    let get = template(EE_GET);
    let single = template("/v1/{name}");
    let bad = [
        "..",
        ".",
        "%2E%2E",
        "%2e",
        "%G1",
        "%2",
        "%",
        "a%",
        "%FF",
        "%C3",
        "%C3%28",
        "%ED%A0%80",
    ];
    for piece in bad {
        assert_eq!(single.matches(&format!("/v1/{piece}")), None, "{piece}");
        let path = format!("/v1/projects/p/operations/{piece}");
        assert_eq!(get.matches(&path), None, "{piece}");
        let path = format!("/v1/projects/p/operations/{piece}/x");
        assert_eq!(get.matches(&path), None, "{piece}");
    }
    assert_eq!(template("/v1/{name=**}").matches("/v1"), None);
}

#[test]
fn never_panics() -> Result<(), Box<dyn std::error::Error>> {
    // A small linear congruential generator keeps the test deterministic.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |bound: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(state >> 33).unwrap_or_default() % bound
    };
    let parts = [
        "/v1",
        "/{name}",
        "/{a=*}",
        "/x",
        "/{b=p/*/q/**}",
        ":verb",
        "/**",
        "/*",
        "/{c=lit}",
        "{",
        "}",
        "/",
        ":",
        "=",
        "/{d=**}",
        "%",
        "\u{e9}",
    ];
    let chars = [
        '/',
        '%',
        '2',
        'F',
        'f',
        'G',
        '.',
        ':',
        'a',
        ' ',
        '\u{e9}',
        '\u{1F600}',
        '{',
        '?',
    ];
    for _ in 0..20_000 {
        let text: String = (0..next(6))
            .filter_map(|_| parts.get(next(parts.len())))
            .copied()
            .collect();
        let value: String = (0..next(12))
            .filter_map(|_| chars.get(next(chars.len())))
            .collect();
        let Ok(parsed) = PathTemplate::parse(&text) else {
            continue;
        };
        let _ = parsed.matches(&value);
        let _ = parsed.matches(&format!("/v1/{value}"));
        if let Ok(path) = parsed.expand(&|_| Some(value.clone())) {
            let matched = parsed.matches(&path).ok_or("expansion does not match")?;
            assert!(matched.iter().all(|(_, v)| *v == value), "{text} {value:?}");
        }
    }
    Ok(())
}
