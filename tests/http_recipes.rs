//! The README's framework recipes cannot rot: each is, word for word, the part of a
//! compiled example between its `// README recipe: begin` and `// README recipe: end`
//! markers (`cargo test` builds every example).

fn recipe(example: &str) -> String {
    let path = format!("{}/../examples/{example}", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap();
    let begin = "// README recipe: begin\n";
    let start = source.find(begin).expect("a begin marker") + begin.len();
    let end = source.find("// README recipe: end").expect("an end marker");
    source[start..end].to_owned()
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap()
}

fn check(example: &str) {
    // `no_run`: the README's doctests compile the recipe but do not start a server;
    // the actix recipe is `ignore` there (the root package has no actix-web), and is
    // compiled as examples/actix.rs instead.
    let fence = if example == "actix.rs" {
        "rust,ignore"
    } else {
        "rust,no_run"
    };
    let block = format!("```{fence}\n{}```\n", recipe(example));
    assert!(
        readme().contains(&block),
        "README.md must show examples/{example} between its markers, as a rust block:\n{block}"
    );
}

#[test]
fn readme_axum_recipe_is_examples_axum() {
    check("axum.rs");
}

#[test]
fn readme_actix_recipe_is_examples_actix() {
    check("actix.rs");
}

#[test]
fn readme_hyper_recipe_is_examples_hyper() {
    check("hyper.rs");
}

/// Every recipe sets the same headers, through `SSE_HEADERS`: the README says so, and
/// `tests/http_frameworks.rs` checks it on the wire.
#[test]
fn every_recipe_names_the_sse_headers() {
    for example in ["axum.rs", "actix.rs", "hyper.rs"] {
        assert!(
            recipe(example).contains("`ssewire::SSE_HEADERS`"),
            "{example}"
        );
    }
}
