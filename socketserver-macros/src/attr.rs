//! Parsing `#[server(key = value, ...)]` into a [`Config`]: each key is looked
//! up in the key table (`table.rs`), its value checked against the kind and
//! range the table gives, and a second setting of a key refused. What depends
//! on several keys at once is checked in `valid.rs`.

use crate::diag::{Errors, list};
use crate::suggest::did_you_mean;
use crate::table::{
    Choice, Concurrency, KEYS, Key, PYTHON_ONLY, Transport, UNIT_SPELLINGS, UNITS, Value,
};
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::discouraged::Speculative;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, Token};

/// A value as checked against its key's kind and range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Transport(Transport),
    Concurrency(Concurrency),
    Bool(bool),
    Int(u64),
    /// A duration, in nanoseconds.
    Nanos(u64),
    /// A type, as written in the string (checked to parse as one).
    Type(String),
}

/// One key set to a good value, with where it was written.
#[derive(Clone, Debug)]
pub(crate) struct Setting {
    pub(crate) key: &'static Key,
    pub(crate) value: Parsed,
    /// The key's token, for errors about the key itself.
    pub(crate) key_span: Span,
    /// The value's token, for errors about the value.
    pub(crate) span: Span,
}

/// The keys of one `#[server(...)]`, as written.
#[derive(Debug, Default)]
pub(crate) struct Config {
    /// The keys set to a good value, in the order written.
    pub(crate) settings: Vec<Setting>,
    /// Every known key written, with its span, whether or not its value was
    /// good: whether an option applies is judged even when its value is wrong,
    /// so that fixing one error does not reveal another.
    pub(crate) written: Vec<(&'static Key, Span)>,
}

impl Config {
    /// The setting of key `name`, if it was set to a good value.
    pub(crate) fn get(&self, name: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.key.name == name)
    }

    /// The transport written, with the span of its value.
    pub(crate) fn transport(&self) -> Option<(Transport, Span)> {
        self.settings.iter().find_map(|s| match &s.value {
            Parsed::Transport(t) => Some((*t, s.span)),
            _ => None,
        })
    }

    /// The concurrency model written, with the span of its value.
    pub(crate) fn concurrency(&self) -> Option<(Concurrency, Span)> {
        self.settings.iter().find_map(|s| match &s.value {
            Parsed::Concurrency(c) => Some((*c, s.span)),
            _ => None,
        })
    }
}

/// Parses the arguments of `#[server(...)]`; every error lands in `errors`.
pub(crate) fn parse(args: TokenStream, errors: &mut Errors) -> Config {
    let mut config = Config::default();
    let parser = |input: ParseStream<'_>| {
        while !input.is_empty() {
            entry(input, &mut config, errors);
            // After an entry: a comma, or the end.
            if input.is_empty() {
                break;
            }
            if input.parse::<Token![,]>().is_err() {
                let span = input.span();
                errors.add(span, MALFORMED);
                skip_to_comma(input);
            }
        }
        Ok(())
    };
    if let Err(e) = parser.parse2(args) {
        errors.add(e.span(), MALFORMED);
    }
    config
}

const MALFORMED: &str = "expected `key = value` settings separated by commas, e.g. \
                         `#[server(transport = \"tcp\", backlog = 128)]`";

/// Skips what is left of a malformed entry, up to (not past) the next comma.
fn skip_to_comma(input: ParseStream<'_>) {
    while !input.is_empty() && !input.peek(Token![,]) {
        if input.parse::<TokenTree>().is_err() {
            break;
        }
    }
}

/// One `key = value`.
fn entry(input: ParseStream<'_>, config: &mut Config, errors: &mut Errors) {
    if !input.peek(syn::Ident::peek_any) {
        errors.add(input.span(), MALFORMED);
        skip_to_comma(input);
        return;
    }
    let Ok(ident) = input.call(syn::Ident::parse_any) else {
        skip_to_comma(input);
        return;
    };
    if input.peek(Token![::]) {
        let mut path = ident.to_token_stream();
        while !input.is_empty() && !input.peek(Token![=]) && !input.peek(Token![,]) {
            match input.parse::<TokenTree>() {
                Ok(tree) => path.extend([tree]),
                Err(_) => break,
            }
        }
        errors.add_spanned(
            path,
            "a `#[server]` key is a single name, such as `backlog`",
        );
        skip_to_comma(input);
        return;
    }
    let name = ident.unraw().to_string();
    let key_span = ident.span();
    let known = KEYS.iter().find(|k| k.name == name);
    let python = KEYS
        .iter()
        .find(|k| k.python.is_some_and(|p| p == name && p != k.name));

    // The `=`: a `:` (as in a struct literal) is taken for one, once said.
    let separator = if input.peek(Token![=]) {
        input.parse::<Token![=]>().map(|_| None)
    } else if input.peek(Token![:]) && !input.peek(Token![::]) {
        input.parse::<Token![:]>().map(|colon| Some(colon.span))
    } else {
        let key = known.or(python);
        let example = key.map_or("…", |k| k.example);
        let written = key.map_or(name.as_str(), |k| k.name);
        errors.add(
            key_span,
            format!("`{written}` needs a value after `=`: `{written} = {example}`"),
        );
        if input.peek(syn::token::Paren) {
            let _ = input.parse::<TokenTree>();
        }
        skip_to_comma(input);
        return;
    };
    let colon = match separator {
        Ok(colon) => colon,
        Err(e) => {
            errors.push(e);
            skip_to_comma(input);
            return;
        }
    };
    // A type written out (`conn = Vec<u8>`) is no expression: said as what
    // to write, and the key counted as written.
    if let Some(key) = known.filter(|k| k.value == Value::Type)
        && !input.peek(syn::Lit)
    {
        let fork = input.fork();
        if let Ok(ty) = fork.parse::<syn::Type>()
            && (fork.is_empty() || fork.peek(Token![,]))
        {
            input.advance_to(&fork);
            let text = ty
                .to_token_stream()
                .to_string()
                .replace(" < ", "<")
                .replace(" >", ">")
                .replace(" , ", ", ")
                .replace(" :: ", "::");
            errors.add_spanned(
                &ty,
                format!("`{name}` takes a type as a string: write `{name} = \"{text}\"`"),
            );
            // Taken as if quoted, so that a handler of that type is no
            // second error.
            if !config.written.iter().any(|(k, _)| k.name == key.name) {
                config.written.push((key, key_span));
                config.settings.push(Setting {
                    key,
                    value: Parsed::Type(text),
                    key_span,
                    span: ty.span(),
                });
            }
            return;
        }
    }
    let value: Expr = match input.parse() {
        Ok(value) => value,
        Err(_) => {
            errors.add(
                input.span(),
                format!("`{name}` needs a value after `=`, e.g. `{name} = …`"),
            );
            skip_to_comma(input);
            return;
        }
    };
    let written_value = value.to_token_stream().to_string();

    let key = match (known, python) {
        (Some(key), _) => key,
        (None, Some(key)) => {
            // Python's name: said once, then read as ours, so that its value
            // is checked like any other.
            errors.add(
                key_span,
                format!(
                    "`{name}` is Python's name; here the key is `{}`: write `{} = {written_value}`",
                    key.name, key.name
                ),
            );
            key
        }
        (None, None) => {
            errors.add(key_span, unknown_key(&name));
            return;
        }
    };
    if let Some(colon) = colon {
        errors.add(
            colon,
            format!(
                "`#[server]` keys are set with `=`: write `{} = {written_value}`",
                key.name
            ),
        );
    }
    if !config.written.iter().any(|(k, _)| k.name == key.name) {
        config.written.push((key, key_span));
    }
    match check_value(key, &value) {
        Ok(Some((parsed, span))) => {
            if config.get(key.name).is_some() {
                errors.add(
                    key_span,
                    format!("`{}` is set more than once; keep one", key.name),
                );
            } else {
                config.settings.push(Setting {
                    key,
                    value: parsed,
                    key_span,
                    span,
                });
            }
        }
        // The compiler has reported the value already.
        Ok(None) => {}
        Err(e) => errors.push(e),
    }
}

/// Unknown key `name`: a near miss, a name of Python's, or the list of keys.
fn unknown_key(name: &str) -> String {
    if let Some((_, answer)) = PYTHON_ONLY.iter().find(|(python, _)| *python == name) {
        return format!("`{name}` is Python's, not a key of `#[server]`: {answer}");
    }
    let names: Vec<_> = KEYS.iter().map(|k| k.name).collect();
    let hint = match did_you_mean(name, &names) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!("the keys are {}", list(&names)),
    };
    format!("unknown key `{name}` in `#[server]`; {hint}")
}

/// The value of `key`, checked against the table; `Ok(None)` where the
/// compiler has already refused the token (`'tcp'`) and the value is left out.
fn check_value(key: &'static Key, value: &Expr) -> syn::Result<Option<(Parsed, Span)>> {
    let name = key.name;
    let example = key.example;
    let (lit, negative) = match value {
        Expr::Lit(ExprLit { lit, .. }) => (lit, false),
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) if matches!(
            &**expr,
            Expr::Lit(ExprLit {
                lit: Lit::Int(_) | Lit::Float(_),
                ..
            })
        ) =>
        {
            match &**expr {
                Expr::Lit(ExprLit { lit, .. }) => (lit, true),
                _ => unreachable!("matched above"),
            }
        }
        Expr::Path(path) if path.path.get_ident().is_some() => {
            let ident = path.path.get_ident().map(ToString::to_string);
            let message = match (ident.as_deref(), key.value) {
                (Some("None"), _) => format!(
                    "`{name} = None`: there is no `None` here; leave `{name}` out to keep its \
                     default ({})",
                    key.default
                ),
                (Some(b @ ("True" | "False")), Value::Bool) => format!(
                    "`{name}` takes `true` or `false`: write `{name} = {}`",
                    b.to_lowercase()
                ),
                (Some(word), Value::Transport | Value::Concurrency | Value::Type) => {
                    format!("`{name}` takes a string: write `{name} = \"{word}\"`")
                }
                _ => written_out(key),
            };
            return Err(syn::Error::new_spanned(value, message));
        }
        other => return Err(syn::Error::new_spanned(other, written_out(key))),
    };
    let span = lit.span();
    let parsed = match key.value {
        Value::Transport => {
            let Some(text) = string_of(key, lit)? else {
                return Ok(None);
            };
            Parsed::Transport(choice::<Transport>(&text, span)?)
        }
        Value::Concurrency => {
            let Some(text) = string_of(key, lit)? else {
                return Ok(None);
            };
            Parsed::Concurrency(choice::<Concurrency>(&text, span)?)
        }
        Value::Type => {
            let Some(text) = string_of(key, lit)? else {
                return Ok(None);
            };
            if text.trim().is_empty() {
                return Err(syn::Error::new(
                    span,
                    format!(
                        "`{name}` needs a type: the state each connection keeps, e.g. \
                         `{name} = {example}`, or `{name} = \"()\"` to keep none"
                    ),
                ));
            }
            if let Err(e) = syn::parse_str::<syn::Type>(&text) {
                return Err(syn::Error::new(
                    span,
                    format!("cannot read `{name} = \"{text}\"` as a type: {e}"),
                ));
            }
            Parsed::Type(text)
        }
        Value::Bool => match lit {
            Lit::Bool(b) => Parsed::Bool(b.value),
            Lit::Verbatim(_) => return Ok(None),
            _ => {
                return Err(syn::Error::new(
                    span,
                    format!("`{name}` takes `true` or `false`"),
                ));
            }
        },
        Value::Int { min, max } => {
            let Lit::Int(int) = lit else {
                if let Lit::Verbatim(_) = lit {
                    return Ok(None);
                }
                return Err(syn::Error::new(
                    span,
                    format!("`{name}` takes a whole number, e.g. `{name} = {example}`"),
                ));
            };
            match int.base10_parse::<u64>() {
                Ok(v) if !negative && (min..=max).contains(&v) => Parsed::Int(v),
                _ => {
                    return Err(syn::Error::new(
                        span,
                        format!("`{name}` must be between {min} and {max}"),
                    ));
                }
            }
        }
        Value::Duration => {
            let number = match lit {
                Lit::Int(i) => Some(i.base10_digits()),
                Lit::Float(f) => Some(f.base10_digits()),
                _ => None,
            };
            if let Some(number) = number {
                let sign = if negative { "-" } else { "" };
                return Err(syn::Error::new(
                    span,
                    format!(
                        "`{name}` takes a duration string with a unit: for {sign}{number} \
                         seconds, write `{name} = \"{sign}{number}s\"`"
                    ),
                ));
            }
            let Some(text) = string_of(key, lit)? else {
                return Ok(None);
            };
            match parse_duration(&text) {
                Ok(0) => {
                    return Err(syn::Error::new(
                        span,
                        format!("`{name}` must be longer than zero"),
                    ));
                }
                Ok(nanos) => Parsed::Nanos(nanos),
                Err(why) => {
                    return Err(syn::Error::new(
                        span,
                        format!("cannot read `{name}` as a duration: {why}"),
                    ));
                }
            }
        }
    };
    Ok(Some((parsed, span)))
}

/// "`backlog` takes a whole number written out, e.g. `backlog = 128`".
fn written_out(key: &Key) -> String {
    format!(
        "`{}` takes {} written out, e.g. `{} = {}`",
        key.name,
        key.value.describe(),
        key.name,
        key.example
    )
}

/// The text of a string-valued key. The inside of a quoted token the
/// compiler has refused (`'tcp'`: "character literal may only contain one
/// codepoint") is taken as the string, so that the one error is the
/// compiler's; `Ok(None)` for any other token it refused.
fn string_of(key: &Key, lit: &Lit) -> syn::Result<Option<String>> {
    let name = key.name;
    match lit {
        Lit::Str(s) => Ok(Some(s.value())),
        Lit::Verbatim(v) => {
            let repr = v.to_string();
            Ok(repr
                .strip_prefix('\'')
                .and_then(|r| r.strip_suffix('\''))
                .map(str::to_owned))
        }
        Lit::Char(c) => Err(syn::Error::new(
            c.span(),
            format!(
                "`{name}` takes a string, in double quotes: `{name} = \"{}\"`",
                c.value()
            ),
        )),
        other => {
            let message = match key.value {
                Value::Transport => {
                    let names: Vec<_> = Transport::ALL.iter().map(|t| t.name()).collect();
                    format!("`{name}` takes a string: one of {}", list(&names))
                }
                Value::Concurrency => {
                    let names: Vec<_> = Concurrency::ALL.iter().map(|c| c.name()).collect();
                    format!("`{name}` takes a string: one of {}", list(&names))
                }
                _ => format!(
                    "`{name}` takes {}, e.g. `{name} = {}`",
                    key.value.describe(),
                    key.example
                ),
            };
            Err(syn::Error::new(other.span(), message))
        }
    }
}

/// One of the names of `T`, with "did you mean" and the list when not.
fn choice<T: Choice>(text: &str, span: Span) -> syn::Result<T> {
    if let Some(value) = T::ALL.iter().find(|v| v.name() == text) {
        return Ok(*value);
    }
    let names: Vec<_> = T::ALL.iter().map(|v| v.name()).collect();
    let hint = match did_you_mean(text, &names) {
        Some(near) => format!("did you mean `{near}`? "),
        None => String::new(),
    };
    Err(syn::Error::new(
        span,
        format!(
            "unknown {} `{text}`; {hint}expected one of {}",
            T::KEY,
            list(&names)
        ),
    ))
}

/// Parses a duration: one or more `<number><unit>` (units in [`UNITS`]; the
/// number may have a fraction, spaces may separate the parts), e.g. `"30s"`,
/// `"1.5s"`, `"1m30s"` or `"1h 30m"`, into nanoseconds.
pub(crate) fn parse_duration(text: &str) -> Result<u64, String> {
    let whole_text = text.trim();
    let mut rest = whole_text;
    if rest.is_empty() {
        return Err("the string is empty; write a number and a unit".to_owned());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_end);
        if number.is_empty() {
            return Err(format!(
                "`{whole_text}` is not a number followed by a unit; write e.g. \"30s\", \
                 \"500ms\" or \"1m30s\""
            ));
        }
        let after = after.trim_start();
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        if unit.is_empty() {
            return Err(format!(
                "`{whole_text}` has no unit; write e.g. \"{number}s\" for {number} seconds"
            ));
        }
        let per_unit = unit_nanos(unit, whole_text)?;
        let nanos = scale(number, per_unit, whole_text)?;
        total = total.checked_add(nanos).ok_or_else(|| {
            format!("`{whole_text}` is too long (the longest is about 584 years)")
        })?;
        rest = after.trim_start();
    }
    Ok(total)
}

/// Nanoseconds per `unit`, or an error that names the unit as written.
fn unit_nanos(unit: &str, text: &str) -> Result<u64, String> {
    if let Some((_, nanos, _)) = UNITS.iter().find(|(u, _, _)| *u == unit) {
        return Ok(*nanos);
    }
    let units: Vec<_> = UNITS
        .iter()
        .map(|(u, _, _)| *u)
        .filter(|u| *u != "µs")
        .collect();
    let spelled = UNIT_SPELLINGS
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(unit))
        .map(|(_, u)| *u)
        .or_else(|| {
            UNITS
                .iter()
                .map(|(u, _, _)| *u)
                .find(|u| u.eq_ignore_ascii_case(unit))
        });
    match spelled {
        Some(ours) => {
            let called = UNITS
                .iter()
                .find(|(u, _, _)| *u == ours)
                .map_or("", |(_, _, called)| called);
            Err(format!(
                "`{unit}` is not a unit here; write `{ours}` for {called}: \"{}\"",
                text.replacen(unit, ours, 1)
            ))
        }
        None => Err(format!(
            "`{unit}` is not a unit; the units are {}",
            list(&units)
        )),
    }
}

/// `number` (digits with at most one `.`) times `per_unit`, in `text`.
fn scale(number: &str, per_unit: u64, text: &str) -> Result<u64, String> {
    let too_long = || format!("`{text}` is too long (the longest is about 584 years)");
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if fraction.contains('.') || (whole.is_empty() && fraction.is_empty()) {
        return Err(format!("`{number}` in `{text}` is not a number"));
    }
    // Only digits are left: a number that does not parse has too many.
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_long())?
    };
    let mut nanos = whole.checked_mul(per_unit).ok_or_else(too_long)?;
    let mut step = per_unit;
    for digit in fraction.bytes().map(|b| u64::from(b - b'0')) {
        if step < 10 {
            if digit != 0 {
                return Err(format!("`{text}` is more precise than a nanosecond"));
            }
            continue;
        }
        step /= 10;
        nanos = nanos.checked_add(digit * step).ok_or_else(too_long)?;
    }
    Ok(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse_ok(args: TokenStream) -> Config {
        let mut errors = Errors::default();
        let config = parse(args, &mut errors);
        if let Err(e) = errors.finish() {
            panic!("unexpected error: {e}");
        }
        config
    }

    fn parse_err(args: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        parse(args, &mut errors);
        match errors.finish() {
            Ok(()) => panic!("expected an error"),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    fn value(config: &Config, key: &str) -> Parsed {
        config.get(key).unwrap().value.clone()
    }

    #[test]
    fn every_key_parses() {
        let config = parse_ok(quote! {
            transport = "tcp", concurrency = "threading", conn = "Vec<u8>", backlog = 128,
            reuse_address = false, reuse_port = true, nodelay = true,
            timeout = "30s", poll_interval = "250ms", shutdown_timeout = "2s",
            workers = 4, queue = 64, max_children = 8, max_connections = 1000,
            daemon_threads = true, block_on_close = false, max_packet_size = 1500,
        });
        assert_eq!(config.settings.len(), KEYS.len());
        assert_eq!(config.transport().unwrap().0, Transport::Tcp);
        assert_eq!(config.concurrency().unwrap().0, Concurrency::Threading);
        assert_eq!(value(&config, "backlog"), Parsed::Int(128));
        assert_eq!(value(&config, "reuse_address"), Parsed::Bool(false));
        assert_eq!(value(&config, "timeout"), Parsed::Nanos(30_000_000_000));
        assert_eq!(value(&config, "poll_interval"), Parsed::Nanos(250_000_000));
        assert_eq!(value(&config, "max_packet_size"), Parsed::Int(1500));
        assert_eq!(value(&config, "conn"), Parsed::Type("Vec<u8>".into()));
    }

    #[test]
    fn conn_takes_a_type_in_a_string() {
        let errors = parse_err(quote!(conn = "not a type!"));
        assert!(
            errors[0].contains("cannot read `conn = \"not a type!\"` as a type"),
            "{errors:?}"
        );
        let errors = parse_err(quote!(conn = ""));
        assert!(errors[0].contains("`conn` needs a type"), "{errors:?}");
        let errors = parse_err(quote!(conn = Vec<u8>));
        assert_eq!(
            errors,
            ["`conn` takes a type as a string: write `conn = \"Vec<u8>\"`"]
        );
        let errors = parse_err(quote!(conn = Session));
        assert!(
            errors[0].contains("write `conn = \"Session\"`"),
            "{errors:?}"
        );
    }

    #[test]
    fn the_table_examples_parse() {
        for key in KEYS {
            let name = syn::Ident::new(key.name, Span::call_site());
            let example: TokenStream = key.example.parse().unwrap();
            let config = parse_ok(quote!(#name = #example));
            assert!(config.get(key.name).is_some(), "{}", key.name);
        }
    }

    #[test]
    fn no_arguments_is_all_defaults() {
        let config = parse_ok(quote! {});
        assert!(config.settings.is_empty() && config.written.is_empty());
    }

    #[test]
    fn unknown_keys_suggest_the_nearest() {
        assert_eq!(
            parse_err(quote! { backlogg = 5 }),
            ["unknown key `backlogg` in `#[server]`; did you mean `backlog`?"]
        );
        let far = parse_err(quote! { colour = "red" });
        assert!(
            far[0].starts_with("unknown key `colour` in `#[server]`; the keys are `transport`")
        );
    }

    #[test]
    fn pythons_names_are_answered_with_ours() {
        assert_eq!(
            parse_err(quote! { request_queue_size = 5 }),
            [
                "`request_queue_size` is Python's name; here the key is `backlog`: write `backlog = 5`"
            ]
        );
        assert_eq!(
            parse_err(quote! { disable_nagle_algorithm = true }),
            [
                "`disable_nagle_algorithm` is Python's name; here the key is `nodelay`: write `nodelay = true`"
            ]
        );
        // The value is still read, as ours.
        assert_eq!(
            parse_err(quote! { allow_reuse_address = 1 }).len(),
            2,
            "the name and the value"
        );
        assert_eq!(
            parse_err(quote! { timeout = None }),
            [
                "`timeout = None`: there is no `None` here; leave `timeout` out to keep its default (no timeout)"
            ]
        );
        assert_eq!(
            parse_err(quote! { nodelay = True }),
            ["`nodelay` takes `true` or `false`: write `nodelay = true`"]
        );
        assert!(
            parse_err(quote! { address_family = 2 })[0].starts_with("`address_family` is Python's")
        );
    }

    #[test]
    fn duplicates_are_refused() {
        assert_eq!(
            parse_err(quote! { nodelay = true, nodelay = false }),
            ["`nodelay` is set more than once; keep one"]
        );
    }

    #[test]
    fn a_colon_for_an_equals_sign_is_one_error() {
        assert_eq!(
            parse_err(quote! { transport: "tcp", backlog = 5 }),
            ["`#[server]` keys are set with `=`: write `transport = \"tcp\"`"]
        );
    }

    #[test]
    fn values_of_the_wrong_type_say_what_to_write() {
        assert_eq!(
            parse_err(quote! { backlog = "128" }),
            ["`backlog` takes a whole number, e.g. `backlog = 128`"]
        );
        assert_eq!(
            parse_err(quote! { nodelay = 1 }),
            ["`nodelay` takes `true` or `false`"]
        );
        assert_eq!(
            parse_err(quote! { timeout = 30 }),
            [
                "`timeout` takes a duration string with a unit: for 30 seconds, write `timeout = \"30s\"`"
            ]
        );
        assert_eq!(
            parse_err(quote! { transport = tcp }),
            ["`transport` takes a string: write `transport = \"tcp\"`"]
        );
        assert_eq!(
            parse_err(quote! { transport = 't' }),
            ["`transport` takes a string, in double quotes: `transport = \"t\"`"]
        );
        assert_eq!(
            parse_err(quote! { backlog = -1 }),
            ["`backlog` must be between 1 and 2147483647"]
        );
        assert_eq!(
            parse_err(quote! { a::b = 1 }),
            ["a `#[server]` key is a single name, such as `backlog`"]
        );
        assert_eq!(
            parse_err(quote! { nodelay }),
            ["`nodelay` needs a value after `=`: `nodelay = true`"]
        );
    }

    #[test]
    fn unknown_choices_list_the_valid_ones() {
        assert_eq!(
            parse_err(quote! { transport = "tpc" }),
            [
                "unknown transport `tpc`; did you mean `tcp`? expected one of `tcp`, `udp`, `unix` or `unix_datagram`"
            ]
        );
        assert_eq!(
            parse_err(quote! { concurrency = "green" }),
            [
                "unknown concurrency `green`; expected one of `sync`, `threading`, `forking`, `pool` or `event`"
            ]
        );
    }

    #[test]
    fn malformed_arguments_say_how_to_write_them() {
        assert_eq!(parse_err(quote! { , }), [MALFORMED]);
        assert_eq!(
            parse_err(quote! { backlog = 1 nodelay = true }),
            [MALFORMED]
        );
        assert_eq!(
            parse_err(quote! { transport("tcp"), backlog = 1 }),
            ["`transport` needs a value after `=`: `transport = \"tcp\"`"]
        );
    }

    #[test]
    fn out_of_range_values_give_the_range() {
        assert_eq!(
            parse_err(quote! { workers = 0 }),
            ["`workers` must be between 1 and 4096"]
        );
        assert_eq!(
            parse_err(quote! { backlog = 3000000000 }),
            ["`backlog` must be between 1 and 2147483647"]
        );
    }

    #[test]
    fn every_error_is_reported_not_just_the_first() {
        let errors = parse_err(quote! { backlogg = 1, nodelay = 3, timeout = "soon" });
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(500_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("2m"), Ok(120_000_000_000));
        assert_eq!(parse_duration("1h"), Ok(3_600_000_000_000));
        assert_eq!(parse_duration("10us"), Ok(10_000));
        assert_eq!(parse_duration("3µs"), Ok(3_000));
        assert_eq!(parse_duration(" 7 s "), Ok(7_000_000_000));
        assert_eq!(parse_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration("1h 30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("1.000000000s"), Ok(1_000_000_000));
        assert!(parse_duration("30").unwrap_err().contains("no unit"));
        assert!(parse_duration("1m30").unwrap_err().contains("no unit"));
        assert_eq!(
            parse_duration("5 parsecs").unwrap_err(),
            "`parsecs` is not a unit; the units are `h`, `m`, `s`, `ms`, `us` or `ns`"
        );
        assert_eq!(
            parse_duration("5min").unwrap_err(),
            "`min` is not a unit here; write `m` for minutes: \"5m\""
        );
        assert_eq!(
            parse_duration("1m30x").unwrap_err(),
            "`x` is not a unit; the units are `h`, `m`, `s`, `ms`, `us` or `ns`"
        );
        assert!(parse_duration("s").unwrap_err().contains("not a number"));
        assert!(parse_duration("soon").unwrap_err().contains("not a number"));
        assert!(parse_duration("").unwrap_err().contains("empty"));
        assert!(
            parse_duration("1.2.3s")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(parse_duration("0.5ns").unwrap_err().contains("precise"));
        assert!(
            parse_duration("99999999999h")
                .unwrap_err()
                .contains("too long")
        );
        assert!(
            parse_duration("99999999999999999999999s")
                .unwrap_err()
                .contains("too long")
        );
        let zero = parse_err(quote! { poll_interval = "0s" });
        assert_eq!(zero, ["`poll_interval` must be longer than zero"]);
    }
}
