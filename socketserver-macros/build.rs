//! Renders the tables of `src/table.rs` (every `#[server]` key, transport,
//! concurrency model, duration unit, Python name, the handler and the hooks)
//! as Markdown into `OUT_DIR`, where the rustdoc of the attributes in
//! `src/lib.rs` includes them: the macros and their documentation read the
//! same table, so they cannot drift apart.

use std::fmt::Write as _;
use std::path::Path;

#[allow(dead_code, reason = "the macros use what the docs do not")]
#[path = "src/table.rs"]
mod table;

use table::{
    Choice, Concurrency, HANDLER, HOOKS, KEYS, Key, PYTHON_ONLY, Sets, Transport, UNITS, Value,
};

fn main() {
    println!("cargo::rerun-if-changed=src/table.rs");
    println!("cargo::rerun-if-changed=build.rs");
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    let out = Path::new(&out);
    write(&out.join("keys.md"), &keys());
    write(&out.join("handler.md"), &handler());
    write(&out.join("hooks.md"), &hooks());
}

fn write(path: &Path, text: &str) {
    if let Err(e) = std::fs::write(path, text) {
        panic!("cannot write {}: {e}", path.display());
    }
}

/// The key table, then what `transport` and `concurrency` take, durations,
/// and Python's names.
fn keys() -> String {
    let mut md = String::new();
    md.push_str("| key | value | default | applies to | what it sets | at run time |\n");
    md.push_str("| --- | --- | --- | --- | --- | --- |\n");
    for key in KEYS {
        let later = if key.sets == Sets::Later {
            " *(a later version)*"
        } else {
            ""
        };
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {}{later} | {} |",
            key.name,
            value(key),
            code_or_text(key.default),
            applies(key),
            key.doc,
            builder(key),
        );
    }
    md.push('\n');
    choices::<Transport>(&mut md);
    choices::<Concurrency>(&mut md);
    let units: Vec<_> = UNITS
        .iter()
        .filter(|(u, _, _)| *u != "µs")
        .map(|(u, _, called)| format!("`{u}` ({called})"))
        .collect();
    let _ = writeln!(
        md,
        "A duration is a string of one or more numbers, each with its unit: {}; \
         e.g. `\"30s\"`, `\"1.5s\"`, `\"1m30s\"` or `\"1h 30m\"` (`µs` is `us` too).\n",
        units.join(", ")
    );
    md.push_str("The names of Python's `socketserver` are answered with these:\n\n");
    md.push_str("| Python | here |\n| --- | --- |\n");
    for key in KEYS {
        if let Some(python) = key.python {
            let here = if python == key.name {
                "the same".to_owned()
            } else {
                format!("`{}`", key.name)
            };
            let _ = writeln!(md, "| `{python}` | {here} |");
        }
    }
    md.push_str("| `timeout = None` | no `timeout` key: no timeout is the default |\n");
    for (python, answer) in PYTHON_ONLY {
        let _ = writeln!(md, "| `{python}` | {answer} |");
    }
    md
}

/// The builder method that overrides the key at run time.
fn builder(key: &Key) -> String {
    match key.sets {
        Sets::Method(method) => format!("`.{method}(…)`"),
        Sets::MethodSome(method) => format!("`.{method}(Some(…))`"),
        Sets::Type | Sets::ConnRequest => "the server's type".to_owned(),
        Sets::Later => String::new(),
    }
}

/// What a key takes, as the table says it.
fn value(key: &Key) -> String {
    match key.value {
        Value::Transport => names::<Transport>(),
        Value::Concurrency => names::<Concurrency>(),
        Value::Bool => "`true` or `false`".to_owned(),
        Value::Int { min, max } => format!("{min} to {max}"),
        Value::Duration => "a duration".to_owned(),
        Value::Type => "a type, as a string".to_owned(),
    }
}

/// The names of a choice, in quotes.
fn names<T: Choice>() -> String {
    let names: Vec<_> = T::ALL
        .iter()
        .map(|v| format!("`\"{}\"`", v.name()))
        .collect();
    names.join(", ")
}

/// A default as code when it is a value (`1024`, `"5s"`), else as text.
fn code_or_text(default: &str) -> String {
    let value = default.starts_with('"')
        || default.parse::<u64>().is_ok()
        || default == "true"
        || default == "false";
    if value {
        format!("`{default}`")
    } else {
        default.to_owned()
    }
}

/// The transports and models a key applies to.
fn applies(key: &Key) -> String {
    let mut parts = Vec::new();
    if !key.transports.is_empty() {
        let names: Vec<_> = key.transports.iter().map(|t| t.name()).collect();
        parts.push(format!("`transport = \"{}\"`", names.join("\"`, `\"")));
    }
    if !key.models.is_empty() {
        let names: Vec<_> = key.models.iter().map(|c| c.name()).collect();
        parts.push(format!("`concurrency = \"{}\"`", names.join("\"`, `\"")));
    }
    if parts.is_empty() {
        "all".to_owned()
    } else {
        parts.join("; ")
    }
}

/// The list of what `T`'s key takes.
fn choices<T: Choice>(md: &mut String) {
    let _ = writeln!(md, "`{}` takes:\n", T::KEY);
    for value in T::ALL {
        let default = if *value == T::DEFAULT {
            " (the default)"
        } else {
            ""
        };
        let _ = writeln!(md, "- `\"{}\"`: {}{default}", value.name(), value.doc());
    }
    md.push('\n');
}

/// The handler's signature.
fn handler() -> String {
    format!("```text\n{}\n```\n", HANDLER.signature())
}

/// The hook table.
fn hooks() -> String {
    let mut md = String::new();
    md.push_str("| hook | signature | called | default |\n");
    md.push_str("| --- | --- | --- | --- |\n");
    for hook in HOOKS {
        let _ = writeln!(
            md,
            "| `{}` | `{}` | {} | {} |",
            hook.name,
            hook.signature(),
            hook.doc,
            hook.default
        );
    }
    md
}
