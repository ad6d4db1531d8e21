//! Parsing `#[server(key = value, ...)]` into a typed [`Config`]: one setter per
//! key, which checks the value's type and range and refuses a second setting.
//! What depends on several keys at once is checked in `valid.rs`.

pub(crate) use crate::diag::{Errors, join, list};
use crate::suggest::did_you_mean;
use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, meta::ParseNestedMeta};

/// Every key `#[server]` knows, in the order the documentation lists them.
pub(crate) const KEYS: &[&str] = &[
    "transport",
    "concurrency",
    "backlog",
    "reuse_address",
    "reuse_port",
    "nodelay",
    "timeout",
    "poll_interval",
    "shutdown_timeout",
    "workers",
    "queue",
    "max_children",
    "max_connections",
    "daemon_threads",
    "block_on_close",
    "max_packet_size",
];

/// A value as written, with where it was written.
#[derive(Clone, Debug)]
pub(crate) struct Setting<T> {
    pub(crate) value: T,
    /// The key's token, for errors about the key itself.
    pub(crate) key: Span,
    /// The value's token, for errors about the value.
    pub(crate) span: Span,
}

/// `transport = "..."`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    Udp,
    Unix,
    UnixDatagram,
}

impl Transport {
    pub(crate) const NAMES: &[&str] = &["tcp", "udp", "unix", "unix_datagram"];

    fn from_name(name: &str) -> Option<Transport> {
        Some(match name {
            "tcp" => Transport::Tcp,
            "udp" => Transport::Udp,
            "unix" => Transport::Unix,
            "unix_datagram" => Transport::UnixDatagram,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Unix => "unix",
            Transport::UnixDatagram => "unix_datagram",
        }
    }
}

/// `concurrency = "..."`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Concurrency {
    Sync,
    Threading,
    Forking,
    Pool,
    Event,
}

impl Concurrency {
    pub(crate) const NAMES: &[&str] = &["sync", "threading", "forking", "pool", "event"];

    fn from_name(name: &str) -> Option<Concurrency> {
        Some(match name {
            "sync" => Concurrency::Sync,
            "threading" => Concurrency::Threading,
            "forking" => Concurrency::Forking,
            "pool" => Concurrency::Pool,
            "event" => Concurrency::Event,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Concurrency::Sync => "sync",
            Concurrency::Threading => "threading",
            Concurrency::Forking => "forking",
            Concurrency::Pool => "pool",
            Concurrency::Event => "event",
        }
    }
}

/// The keys of one `#[server(...)]`, each as written (or absent).
#[derive(Debug, Default)]
pub(crate) struct Config {
    pub(crate) transport: Option<Setting<Transport>>,
    pub(crate) concurrency: Option<Setting<Concurrency>>,
    pub(crate) backlog: Option<Setting<i32>>,
    pub(crate) reuse_address: Option<Setting<bool>>,
    pub(crate) reuse_port: Option<Setting<bool>>,
    pub(crate) nodelay: Option<Setting<bool>>,
    /// Durations in nanoseconds.
    pub(crate) timeout: Option<Setting<u64>>,
    pub(crate) poll_interval: Option<Setting<u64>>,
    pub(crate) shutdown_timeout: Option<Setting<u64>>,
    pub(crate) workers: Option<Setting<u64>>,
    pub(crate) queue: Option<Setting<u64>>,
    pub(crate) max_children: Option<Setting<u64>>,
    pub(crate) max_connections: Option<Setting<u64>>,
    pub(crate) daemon_threads: Option<Setting<bool>>,
    pub(crate) block_on_close: Option<Setting<bool>>,
    pub(crate) max_packet_size: Option<Setting<u64>>,
    /// Every known key written, with its span, whether or not its value was
    /// good: whether an option applies is judged even when its value is wrong,
    /// so that fixing one error does not reveal another.
    pub(crate) written: Vec<(&'static str, Span)>,
}

/// Parses the arguments of `#[server(...)]`; every key error lands in `errors`.
pub(crate) fn parse(args: TokenStream, errors: &mut Errors) -> Config {
    let mut config = Config::default();
    let parser = syn::meta::parser(|meta| {
        if let Err(e) = config.set(&meta) {
            errors.push(e);
            // Skip the rest of this `key = value` (or `key(...)`) so that the
            // next key is still read.
            if meta.input.peek(syn::Token![=]) {
                let _ = meta.value().and_then(|v| v.parse::<Expr>());
            } else if meta.input.peek(syn::token::Paren) {
                let _ = meta.input.parse::<proc_macro2::TokenTree>();
            }
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(args) {
        errors.add(
            e.span(),
            "expected `key = value` settings separated by commas, e.g. \
             `#[server(transport = \"tcp\", backlog = 128)]`",
        );
    }
    config
}

impl Config {
    fn set(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        let Some(key) = meta.path.get_ident().map(ToString::to_string) else {
            return Err(syn::Error::new_spanned(
                &meta.path,
                "a `#[server]` key is a single name, such as `backlog`",
            ));
        };
        let key_span = meta.path.span();
        if let Some(known) = KEYS.iter().find(|k| **k == key)
            && !self.written.iter().any(|(k, _)| k == known)
        {
            self.written.push((known, key_span));
        }
        match key.as_str() {
            "transport" => {
                let value = choice(meta, &key, Transport::NAMES, Transport::from_name)?;
                put(&mut self.transport, value, &key)
            }
            "concurrency" => {
                let value = choice(meta, &key, Concurrency::NAMES, Concurrency::from_name)?;
                put(&mut self.concurrency, value, &key)
            }
            "backlog" => {
                let value = integer(meta, &key, 1, i32::MAX as u64)?;
                let value = Setting {
                    value: value.value as i32,
                    key: value.key,
                    span: value.span,
                };
                put(&mut self.backlog, value, &key)
            }
            "reuse_address" => put(&mut self.reuse_address, boolean(meta, &key)?, &key),
            "reuse_port" => put(&mut self.reuse_port, boolean(meta, &key)?, &key),
            "nodelay" => put(&mut self.nodelay, boolean(meta, &key)?, &key),
            "daemon_threads" => put(&mut self.daemon_threads, boolean(meta, &key)?, &key),
            "block_on_close" => put(&mut self.block_on_close, boolean(meta, &key)?, &key),
            "timeout" => put(&mut self.timeout, duration(meta, &key)?, &key),
            "poll_interval" => put(&mut self.poll_interval, duration(meta, &key)?, &key),
            "shutdown_timeout" => put(&mut self.shutdown_timeout, duration(meta, &key)?, &key),
            "workers" => put(&mut self.workers, integer(meta, &key, 1, 4096)?, &key),
            "queue" => put(
                &mut self.queue,
                integer(meta, &key, 1, u32::MAX.into())?,
                &key,
            ),
            "max_children" => put(
                &mut self.max_children,
                integer(meta, &key, 1, u32::MAX.into())?,
                &key,
            ),
            "max_connections" => put(
                &mut self.max_connections,
                integer(meta, &key, 1, u32::MAX.into())?,
                &key,
            ),
            "max_packet_size" => put(
                &mut self.max_packet_size,
                integer(meta, &key, 1, 65_507)?,
                &key,
            ),
            _ => {
                let hint = match did_you_mean(&key, KEYS) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("the keys are {}", list(KEYS)),
                };
                Err(syn::Error::new(
                    key_span,
                    format!("unknown key `{key}` in `#[server]`; {hint}"),
                ))
            }
        }
    }
}

/// Records a setting, refusing a second one for the same key.
fn put<T>(slot: &mut Option<Setting<T>>, value: Setting<T>, key: &str) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            value.key,
            format!("`{key}` is set more than once; keep one"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// What a key takes, to say so when it gets something else.
#[derive(Clone, Copy)]
enum Kind {
    String,
    Number,
    Bool,
    Duration,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Number => "a whole number",
            Kind::Bool => "`true` or `false`",
            Kind::Duration => "a duration string",
        }
    }
}

/// The literal after `key =` (a negative number is read as its literal, and
/// refused by the range check), or an error that says how to write the key.
fn literal(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    kind: Kind,
    example: &str,
) -> syn::Result<(Lit, Span, bool)> {
    let key_span = meta.path.span();
    if !meta.input.peek(syn::Token![=]) {
        return Err(syn::Error::new(
            key_span,
            format!("`{key}` needs a value after `=`: `{key} = {example}`"),
        ));
    }
    let expr: Expr = meta.value()?.parse()?;
    if let (Kind::String, Expr::Path(path)) = (kind, &expr)
        && let Some(ident) = path.path.get_ident()
    {
        return Err(syn::Error::new_spanned(
            &expr,
            format!("`{key}` takes a string: write `{key} = \"{ident}\"`"),
        ));
    }
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => {
            let span = lit.span();
            Ok((lit, span, false))
        }
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr: inner,
            ..
        }) if matches!(
            &*inner,
            Expr::Lit(ExprLit {
                lit: Lit::Int(_),
                ..
            })
        ) =>
        {
            let span = inner.span();
            match *inner {
                Expr::Lit(ExprLit { lit, .. }) => Ok((lit, span, true)),
                _ => unreachable!("matched above"),
            }
        }
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "`{key}` takes {} written out, e.g. `{key} = {example}`",
                kind.describe()
            ),
        )),
    }
}

fn choice<T: Copy>(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    names: &[&str],
    from_name: fn(&str) -> Option<T>,
) -> syn::Result<Setting<T>> {
    let example = format!("\"{}\"", names[0]);
    let (lit, span, _) = literal(meta, key, Kind::String, &example)?;
    let Lit::Str(text) = lit else {
        return Err(syn::Error::new(
            span,
            format!("`{key}` takes a string: one of {}", list(names)),
        ));
    };
    let name = text.value();
    match from_name(&name) {
        Some(value) => Ok(Setting {
            value,
            key: meta.path.span(),
            span,
        }),
        None => {
            let hint = match did_you_mean(&name, names) {
                Some(near) => format!("did you mean `{near}`? "),
                None => String::new(),
            };
            Err(syn::Error::new(
                span,
                format!(
                    "unknown {key} `{name}`; {hint}expected one of {}",
                    list(names)
                ),
            ))
        }
    }
}

fn boolean(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<Setting<bool>> {
    let (lit, span, _) = literal(meta, key, Kind::Bool, "true")?;
    match lit {
        Lit::Bool(b) => Ok(Setting {
            value: b.value,
            key: meta.path.span(),
            span,
        }),
        _ => Err(syn::Error::new(
            span,
            format!("`{key}` takes `true` or `false`"),
        )),
    }
}

fn integer(meta: &ParseNestedMeta<'_>, key: &str, min: u64, max: u64) -> syn::Result<Setting<u64>> {
    let (lit, span, negative) = literal(meta, key, Kind::Number, &min.max(1).to_string())?;
    let Lit::Int(int) = lit else {
        return Err(syn::Error::new(
            span,
            format!(
                "`{key}` takes a whole number, e.g. `{key} = {}`",
                min.max(1)
            ),
        ));
    };
    let value = int
        .base10_parse::<u64>()
        .ok()
        .filter(|v| !negative && (min..=max).contains(v));
    match value {
        Some(value) => Ok(Setting {
            value,
            key: meta.path.span(),
            span,
        }),
        None => Err(syn::Error::new(
            span,
            format!("`{key}` must be between {min} and {max}"),
        )),
    }
}

fn duration(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<Setting<u64>> {
    let (lit, span, _) = literal(meta, key, Kind::Duration, "\"30s\"")?;
    let Lit::Str(text) = lit else {
        return Err(syn::Error::new(
            span,
            format!("`{key}` takes a duration string, e.g. `{key} = \"30s\"` or `\"500ms\"`"),
        ));
    };
    match parse_duration(&text.value()) {
        Ok(0) => Err(syn::Error::new(
            span,
            format!("`{key}` must be longer than zero"),
        )),
        Ok(nanos) => Ok(Setting {
            value: nanos,
            key: meta.path.span(),
            span,
        }),
        Err(why) => Err(syn::Error::new(
            span,
            format!(
                "cannot read `{key}` as a duration: {why}; write e.g. \"30s\", \"500ms\" or \"2m\""
            ),
        )),
    }
}

/// Parses `"<number><unit>"` (units `ns`, `us`, `ms`, `s`, `m`, `h`; the number
/// may have a fraction: `"1.5s"`) into nanoseconds.
pub(crate) fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if !text.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return Err(format!("`{text}` is not a number followed by a unit"));
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("`{text}` has no unit"))?;
    let (number, unit) = text.split_at(split);
    let per_unit: u64 = match unit.trim() {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        other => {
            return Err(format!(
                "unknown unit `{other}` (use ns, us, ms, s, m or h)"
            ));
        }
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(format!("`{text}` has no number"));
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| format!("`{number}` is not a number"))?
    };
    let mut nanos = whole
        .checked_mul(per_unit)
        .ok_or_else(|| format!("`{text}` is too long"))?;
    let mut scale = per_unit;
    for digit in fraction.chars() {
        let digit = digit
            .to_digit(10)
            .ok_or_else(|| format!("`{number}` is not a number"))?;
        if scale < 10 {
            return Err(format!("`{text}` is more precise than a nanosecond"));
        }
        scale /= 10;
        nanos = nanos
            .checked_add(u64::from(digit) * scale)
            .ok_or_else(|| format!("`{text}` is too long"))?;
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

    #[test]
    fn every_key_parses() {
        let config = parse_ok(quote! {
            transport = "tcp", concurrency = "threading", backlog = 128,
            reuse_address = false, reuse_port = true, nodelay = true,
            timeout = "30s", poll_interval = "250ms", shutdown_timeout = "2s",
            workers = 4, queue = 64, max_children = 8, max_connections = 1000,
            daemon_threads = true, block_on_close = false, max_packet_size = 1500,
        });
        assert_eq!(config.transport.unwrap().value, Transport::Tcp);
        assert_eq!(config.concurrency.unwrap().value, Concurrency::Threading);
        assert_eq!(config.backlog.unwrap().value, 128);
        assert!(!config.reuse_address.unwrap().value);
        assert!(config.reuse_port.unwrap().value);
        assert!(config.nodelay.unwrap().value);
        assert_eq!(config.timeout.unwrap().value, 30_000_000_000);
        assert_eq!(config.poll_interval.unwrap().value, 250_000_000);
        assert_eq!(config.shutdown_timeout.unwrap().value, 2_000_000_000);
        assert_eq!(config.workers.unwrap().value, 4);
        assert_eq!(config.queue.unwrap().value, 64);
        assert_eq!(config.max_children.unwrap().value, 8);
        assert_eq!(config.max_connections.unwrap().value, 1000);
        assert!(config.daemon_threads.unwrap().value);
        assert!(!config.block_on_close.unwrap().value);
        assert_eq!(config.max_packet_size.unwrap().value, 1500);
    }

    #[test]
    fn no_arguments_is_all_defaults() {
        let config = parse_ok(quote! {});
        assert!(config.transport.is_none() && config.concurrency.is_none());
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
    fn duplicates_are_refused() {
        assert_eq!(
            parse_err(quote! { nodelay = true, nodelay = false }),
            ["`nodelay` is set more than once; keep one"]
        );
    }

    #[test]
    fn values_of_the_wrong_type_say_what_to_write() {
        assert_eq!(
            parse_err(quote! { backlog = "128" }),
            ["`backlog` takes a whole number, e.g. `backlog = 1`"]
        );
        assert_eq!(
            parse_err(quote! { nodelay = 1 }),
            ["`nodelay` takes `true` or `false`"]
        );
        assert_eq!(
            parse_err(quote! { timeout = 30 }),
            ["`timeout` takes a duration string, e.g. `timeout = \"30s\"` or `\"500ms\"`"]
        );
        assert_eq!(
            parse_err(quote! { transport = tcp }),
            ["`transport` takes a string: write `transport = \"tcp\"`"]
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
        let expected = "expected `key = value` settings separated by commas, e.g. \
                        `#[server(transport = \"tcp\", backlog = 128)]`";
        assert_eq!(parse_err(quote! { , }), [expected]);
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
        assert_eq!(parse_duration(" 7 s "), Ok(7_000_000_000));
        assert!(parse_duration("30").unwrap_err().contains("no unit"));
        assert!(
            parse_duration("5 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_duration("s").unwrap_err().contains("not a number"));
        assert!(parse_duration("soon").unwrap_err().contains("not a number"));
        assert!(parse_duration("1.2.3s").is_err());
        assert!(
            parse_duration("99999999999h")
                .unwrap_err()
                .contains("too long")
        );
        let zero = parse_err(quote! { poll_interval = "0s" });
        assert_eq!(zero, ["`poll_interval` must be longer than zero"]);
    }
}
