//! The one description of what the attributes know: every `#[server]` key,
//! transport and concurrency model, the handler and every hook, each written
//! once. Parsing (`attr.rs`), validation (`valid.rs`), expansion (`expand.rs`,
//! `method.rs`) and the documentation of the attributes all read it: `build.rs`
//! includes this file and renders the tables of `lib.rs`'s rustdoc from it, so
//! the docs cannot drift from what the macros do.
//!
//! Adding a key is a row in [`KEYS`] (plus, when it sets something new, the
//! builder method in the runtime); adding a hook is a row in [`HOOKS`] (plus
//! its default in the runtime's `__private::Fallback`).
//!
//! This file uses nothing but `core`, so that `build.rs` can include it.

/// A value that picks one of a fixed set of names: `transport` and
/// `concurrency`.
pub(crate) trait Choice: Copy + PartialEq + 'static {
    /// The key that takes it.
    const KEY: &'static str;
    /// Every value, in the order the docs and messages list them.
    const ALL: &'static [Self];
    /// The value when the key is absent.
    const DEFAULT: Self;
    /// As written in the attribute.
    fn name(self) -> &'static str;
    /// The runtime's type for it (in `__private`).
    fn runtime(self) -> &'static str;
    /// One line for the docs.
    #[allow(dead_code, reason = "read by `build.rs`, for the docs")]
    fn doc(self) -> &'static str;
}

/// `transport = "..."`: where requests come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    Udp,
    Unix,
    UnixDatagram,
}

impl Transport {
    /// The runtime's request type for this transport (in `__private`), which
    /// the handler and the hooks take.
    pub(crate) fn request(self) -> &'static str {
        match self {
            Transport::Tcp => "TcpRequest",
            Transport::Udp => "UdpRequest",
            Transport::Unix => "UnixRequest",
            Transport::UnixDatagram => "UnixDatagramRequest",
        }
    }

    /// Whether it carries streams (connections), not datagrams.
    pub(crate) fn is_stream(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Unix)
    }

    /// The runtime's type of the clients' addresses (in `__private`).
    pub(crate) fn addr(self) -> &'static str {
        match self {
            Transport::Tcp | Transport::Udp => "IpAddr",
            Transport::Unix | Transport::UnixDatagram => "UnixAddr",
        }
    }
}

impl Choice for Transport {
    const KEY: &'static str = "transport";
    const ALL: &'static [Transport] = &[
        Transport::Tcp,
        Transport::Udp,
        Transport::Unix,
        Transport::UnixDatagram,
    ];
    const DEFAULT: Transport = Transport::Tcp;

    fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Unix => "unix",
            Transport::UnixDatagram => "unix_datagram",
        }
    }

    fn runtime(self) -> &'static str {
        match self {
            Transport::Tcp => "Tcp",
            Transport::Udp => "Udp",
            Transport::Unix => "Unix",
            Transport::UnixDatagram => "UnixDgram",
        }
    }

    fn doc(self) -> &'static str {
        match self {
            Transport::Tcp => "TCP over IPv4 or IPv6 (Python's `TCPServer`)",
            Transport::Udp => "UDP datagrams (Python's `UDPServer`)",
            Transport::Unix => {
                "a Unix stream socket at a path (Python's `UnixStreamServer`); requests are \
                 `StreamRequest<UnixStream>`"
            }
            Transport::UnixDatagram => {
                "a Unix datagram socket at a path (Python's `UnixDatagramServer`); requests are \
                 `DatagramRequest<UnixDatagram>`"
            }
        }
    }
}

/// `concurrency = "..."`: where requests run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Concurrency {
    Sync,
    Threading,
    Forking,
    Pool,
    Event,
}

impl Concurrency {
    /// Whether it serves streams with the buffer-shaped handler only: under
    /// it, a stream transport's requests are `Conn<()>` where `conn` is not
    /// set.
    pub(crate) fn buffer_only(self) -> bool {
        matches!(self, Concurrency::Event)
    }
}

impl Choice for Concurrency {
    const KEY: &'static str = "concurrency";
    const ALL: &'static [Concurrency] = &[
        Concurrency::Sync,
        Concurrency::Threading,
        Concurrency::Forking,
        Concurrency::Pool,
        Concurrency::Event,
    ];
    const DEFAULT: Concurrency = Concurrency::Threading;

    fn name(self) -> &'static str {
        match self {
            Concurrency::Sync => "sync",
            Concurrency::Threading => "threading",
            Concurrency::Forking => "forking",
            Concurrency::Pool => "pool",
            Concurrency::Event => "event",
        }
    }

    fn runtime(self) -> &'static str {
        match self {
            Concurrency::Sync => "Synchronous",
            Concurrency::Threading => "Threading",
            Concurrency::Forking => "Forking",
            Concurrency::Pool => "Pool",
            Concurrency::Event => "Event",
        }
    }

    fn doc(self) -> &'static str {
        match self {
            Concurrency::Sync => "one request at a time, on the loop's thread",
            Concurrency::Threading => "a thread per request (Python's `ThreadingMixIn`)",
            Concurrency::Forking => "a process per request (Python's `ForkingMixIn`)",
            Concurrency::Pool => "a bounded pool of worker threads with a bounded queue",
            Concurrency::Event => {
                "non-blocking event loops, one per worker; a `tcp` or `unix` handler takes \
                 `&mut Conn` (the buffer shape, see `conn`), never `&mut StreamRequest`"
            }
        }
    }
}

/// What a key's value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// One of [`Transport::ALL`], as a string.
    Transport,
    /// One of [`Concurrency::ALL`], as a string.
    Concurrency,
    /// `true` or `false`.
    Bool,
    /// A whole number in `min..=max`.
    Int { min: u64, max: u64 },
    /// A duration string, longer than zero: see [`UNITS`].
    Duration,
    /// A Rust type, as a string.
    Type,
}

impl Value {
    /// What it takes, as a message says it: "`backlog` takes a whole number".
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Value::Transport | Value::Concurrency => "a string",
            Value::Bool => "`true` or `false`",
            Value::Int { .. } => "a whole number",
            Value::Duration => "a duration string",
            Value::Type => "a type, as a string",
        }
    }
}

/// What setting a key does in the generated code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sets {
    /// Picks one of the server's types (its transport or concurrency model).
    Type,
    /// Calls this method of the runtime's `Builder` with the value.
    Method(&'static str),
    /// Calls this method of the runtime's `Builder` with `Some(value)`.
    MethodSome(&'static str),
    /// Makes the handler buffer-shaped: the server's requests are
    /// `Conn<value>` (the runtime's `Conn`, over the transport's stream).
    ConnRequest,
    /// Nothing yet: the feature belongs to a later version of the runtime,
    /// and setting it is an error that says so.
    Later,
}

/// One key of `#[server(key = value, ...)]`.
#[derive(Debug)]
pub(crate) struct Key {
    pub(crate) name: &'static str,
    pub(crate) value: Value,
    /// The transports it applies to; empty: all of them.
    pub(crate) transports: &'static [Transport],
    /// The concurrency models it applies to; empty: all of them.
    pub(crate) models: &'static [Concurrency],
    pub(crate) sets: Sets,
    /// The default, as the docs show it.
    pub(crate) default: &'static str,
    /// A value as written in the attribute, for messages and docs.
    pub(crate) example: &'static str,
    /// Python's name for it, where Python has one.
    pub(crate) python: Option<&'static str>,
    /// One line for the docs.
    #[allow(dead_code, reason = "read by `build.rs`, for the docs")]
    pub(crate) doc: &'static str,
}

impl Key {
    /// Whether it applies to this transport and concurrency model.
    pub(crate) fn applies(&self, transport: Transport, concurrency: Concurrency) -> bool {
        (self.transports.is_empty() || self.transports.contains(&transport))
            && (self.models.is_empty() || self.models.contains(&concurrency))
    }
}

/// The largest number a 32-bit count can be.
const U32_MAX: u64 = 4_294_967_295;

/// Every key `#[server]` knows, in the order the docs and messages list them.
pub(crate) const KEYS: &[Key] = &[
    Key {
        name: "transport",
        value: Value::Transport,
        transports: &[],
        models: &[],
        sets: Sets::Type,
        default: "\"tcp\"",
        example: "\"tcp\"",
        python: None,
        doc: "where requests come from",
    },
    Key {
        name: "concurrency",
        value: Value::Concurrency,
        transports: &[],
        models: &[],
        sets: Sets::Type,
        default: "\"threading\"",
        example: "\"threading\"",
        python: None,
        doc: "where requests run",
    },
    Key {
        name: "conn",
        value: Value::Type,
        transports: &[Transport::Tcp, Transport::Unix],
        models: &[],
        sets: Sets::ConnRequest,
        default: "none: the handler takes `&mut StreamRequest` (`&mut Conn` under `event`)",
        example: "\"Session\"",
        python: None,
        doc: "the handler is buffer-shaped and takes `&mut Conn<T>`, `T` being the state each \
              connection keeps (`\"()\"` for none; made with `Default` when it opens; as \
              visible as the struct: a `pub` struct needs a `pub` state type)",
    },
    Key {
        name: "backlog",
        value: Value::Int {
            min: 1,
            max: 2_147_483_647,
        },
        transports: &[Transport::Tcp, Transport::Unix],
        models: &[],
        sets: Sets::Method("backlog"),
        default: "1024",
        example: "128",
        python: Some("request_queue_size"),
        doc: "how many connections may wait to be accepted (capped by the system)",
    },
    Key {
        name: "reuse_address",
        value: Value::Bool,
        transports: &[Transport::Tcp, Transport::Udp],
        models: &[],
        sets: Sets::Method("reuse_address"),
        default: "true",
        example: "true",
        python: Some("allow_reuse_address"),
        doc: "`SO_REUSEADDR`: bind again at once after a restart",
    },
    Key {
        name: "reuse_port",
        value: Value::Bool,
        transports: &[Transport::Tcp, Transport::Udp],
        models: &[],
        sets: Sets::Method("reuse_port"),
        default: "false",
        example: "true",
        python: Some("allow_reuse_port"),
        doc: "`SO_REUSEPORT`: several servers share one port",
    },
    Key {
        name: "nodelay",
        value: Value::Bool,
        transports: &[Transport::Tcp],
        models: &[],
        sets: Sets::Method("nodelay"),
        default: "false",
        example: "true",
        python: Some("disable_nagle_algorithm"),
        doc: "`TCP_NODELAY` on each connection: small writes go out at once",
    },
    Key {
        name: "timeout",
        value: Value::Duration,
        transports: &[],
        models: &[],
        sets: Sets::MethodSome("timeout"),
        default: "no timeout",
        example: "\"30s\"",
        python: Some("timeout"),
        doc: "read and write timeout of each connection",
    },
    Key {
        name: "poll_interval",
        value: Value::Duration,
        transports: &[],
        models: &[],
        sets: Sets::Method("poll_interval"),
        default: "\"500ms\"",
        example: "\"500ms\"",
        python: Some("poll_interval"),
        doc: "longest wait between two turns of the loop (`service_actions` runs each turn)",
    },
    Key {
        name: "shutdown_timeout",
        value: Value::Duration,
        transports: &[],
        models: &[],
        sets: Sets::Method("shutdown_timeout"),
        default: "\"5s\"",
        example: "\"5s\"",
        python: None,
        doc: "how long closing waits for open connections before shutting them down",
    },
    Key {
        name: "workers",
        value: Value::Int { min: 1, max: 4096 },
        transports: &[],
        models: &[Concurrency::Pool, Concurrency::Event],
        sets: Sets::Method("workers"),
        default: "one per CPU",
        example: "4",
        python: None,
        doc: "worker threads of the pool, or event loops",
    },
    Key {
        name: "queue",
        value: Value::Int {
            min: 1,
            max: U32_MAX,
        },
        transports: &[],
        models: &[Concurrency::Pool],
        sets: Sets::Method("queue"),
        default: "4 per worker",
        example: "256",
        python: None,
        doc: "accepted requests waiting for a worker of the pool; more wait in the backlog",
    },
    Key {
        name: "max_children",
        value: Value::Int {
            min: 1,
            max: U32_MAX,
        },
        transports: &[],
        models: &[Concurrency::Forking],
        sets: Sets::Method("max_children"),
        default: "40",
        example: "40",
        python: Some("max_children"),
        doc: "child processes at once; more connections wait in the backlog",
    },
    Key {
        name: "max_connections",
        value: Value::Int {
            min: 1,
            max: U32_MAX,
        },
        transports: &[Transport::Tcp, Transport::Unix],
        models: &[
            Concurrency::Threading,
            Concurrency::Pool,
            Concurrency::Forking,
            Concurrency::Event,
        ],
        sets: Sets::MethodSome("max_connections"),
        default: "no limit",
        example: "10000",
        python: None,
        doc: "open connections at most; more wait in the backlog",
    },
    Key {
        name: "daemon_threads",
        value: Value::Bool,
        transports: &[],
        models: &[Concurrency::Threading],
        sets: Sets::Method("daemon_threads"),
        default: "false",
        example: "true",
        python: Some("daemon_threads"),
        doc: "closing the server leaves handler threads running",
    },
    Key {
        name: "block_on_close",
        value: Value::Bool,
        transports: &[],
        models: &[Concurrency::Threading],
        sets: Sets::Method("block_on_close"),
        default: "true",
        example: "false",
        python: Some("block_on_close"),
        doc: "closing the server waits for handler threads",
    },
    Key {
        name: "max_packet_size",
        value: Value::Int {
            min: 1,
            max: 65_507,
        },
        transports: &[Transport::Udp, Transport::UnixDatagram],
        models: &[],
        sets: Sets::Method("max_packet_size"),
        default: "8192",
        example: "1500",
        python: Some("max_packet_size"),
        doc: "the largest datagram received",
    },
];

/// Names a Python program sets that are no key here, with what to do instead.
pub(crate) const PYTHON_ONLY: &[(&str, &str)] = &[
    (
        "address_family",
        "the address family follows the address given to `bind`: IPv4 or IPv6 for `\"tcp\"` \
         and `\"udp\"`, a path for `\"unix\"` and `\"unix_datagram\"`",
    ),
    (
        "socket_type",
        "the socket type follows `transport`: `transport = \"tcp\"` or `\"unix\"` for streams, \
         `transport = \"udp\"` or `\"unix_datagram\"` for datagrams",
    ),
    (
        "server_address",
        "the address is given when binding: `Server.bind(\"127.0.0.1:9999\")`",
    ),
    (
        "bind_and_activate",
        "`bind(addr)` binds and listens; `builder().unbound(addr)` binds without listening",
    ),
];

/// The units a duration string takes (`"30s"`, `"1m30s"`, `"1.5h"`): the unit
/// as written, nanoseconds per unit, and what it is called, for messages.
pub(crate) const UNITS: &[(&str, u64, &str)] = &[
    ("h", 3_600_000_000_000, "hours"),
    ("m", 60_000_000_000, "minutes"),
    ("s", 1_000_000_000, "seconds"),
    ("ms", 1_000_000, "milliseconds"),
    ("us", 1_000, "microseconds"),
    ("µs", 1_000, "microseconds"),
    ("ns", 1, "nanoseconds"),
];

/// Spellings of units a duration does not take, with the unit to write.
pub(crate) const UNIT_SPELLINGS: &[(&str, &str)] = &[
    ("hr", "h"),
    ("hrs", "h"),
    ("hour", "h"),
    ("hours", "h"),
    ("min", "m"),
    ("mins", "m"),
    ("minute", "m"),
    ("minutes", "m"),
    ("sec", "s"),
    ("secs", "s"),
    ("second", "s"),
    ("seconds", "s"),
    ("msec", "ms"),
    ("msecs", "ms"),
    ("millis", "ms"),
    ("millisecond", "ms"),
    ("milliseconds", "ms"),
    ("usec", "us"),
    ("micros", "us"),
    ("microsecond", "us"),
    ("microseconds", "us"),
    ("nsec", "ns"),
    ("nanos", "ns"),
    ("nanosecond", "ns"),
    ("nanoseconds", "ns"),
];

/// A parameter of the handler or of a hook, after `&self`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Param {
    /// The request, `&mut`; its type follows the transport.
    Request,
    /// The client's address, `&`; its type follows the transport.
    ClientAddress,
    /// What went wrong, `&RequestError`.
    Error,
}

impl Param {
    /// As the signature in messages and docs writes it.
    pub(crate) fn written(self) -> &'static str {
        match self {
            Param::Request => "req: &mut StreamRequest",
            Param::ClientAddress => "client_address: &SocketAddr",
            Param::Error => "error: &RequestError",
        }
    }

    /// Whether it is taken by `&mut` (else by `&`).
    pub(crate) fn mutable(self) -> bool {
        matches!(self, Param::Request)
    }
}

/// What the handler or a hook returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Returns {
    IoResult,
    Bool,
    Nothing,
}

impl Returns {
    /// As the user writes it.
    pub(crate) fn written(self) -> &'static str {
        match self {
            Returns::IoResult => "io::Result<()>",
            Returns::Bool => "bool",
            Returns::Nothing => "()",
        }
    }
}

/// The handler or one hook: a method of the `#[server]` struct, marked
/// `#[handle]` or `#[hook]`, that the server calls by the hidden name
/// `forwarder` (see `method.rs` and the runtime's `__private::Fallback`).
#[derive(Debug)]
pub(crate) struct Method {
    /// The hook's name (the method's name under `#[hook]`), and the name of
    /// the runtime's `Service` method it implements.
    pub(crate) name: &'static str,
    pub(crate) params: &'static [Param],
    pub(crate) returns: Returns,
    /// The hidden method that `#[handle]` or `#[hook]` adds and the code of
    /// `#[server]` calls; the runtime's `__private::Fallback` has a method of
    /// the same name, the default.
    pub(crate) forwarder: &'static str,
    /// What happens when no method is marked, for the docs.
    #[allow(dead_code, reason = "read by `build.rs`, for the docs")]
    pub(crate) default: &'static str,
    /// When it is called, for the docs.
    #[allow(dead_code, reason = "read by `build.rs`, for the docs")]
    pub(crate) doc: &'static str,
}

impl Method {
    /// `fn setup(&self, req: &mut StreamRequest) -> io::Result<()>`.
    pub(crate) fn signature(&self) -> String {
        let mut signature = format!("fn {}(&self", self.name);
        for param in self.params {
            signature.push_str(", ");
            signature.push_str(param.written());
        }
        signature.push(')');
        if self.returns != Returns::Nothing {
            signature.push_str(" -> ");
            signature.push_str(self.returns.written());
        }
        signature
    }
}

/// The handler: the method marked `#[handle]`. Its forwarder's name is worded
/// for the one error it shows up in: a second `#[handle]` defines it twice.
pub(crate) const HANDLER: Method = Method {
    name: "handle",
    params: &[Param::Request],
    returns: Returns::IoResult,
    forwarder: "only_one_method_may_be_marked_handle",
    default: "none: a `#[server]` struct must have one",
    doc: "serves one request; an error or a panic goes to `handle_error`, and the server goes on",
};

/// Every hook, in the order the docs and messages list them.
pub(crate) const HOOKS: &[Method] = &[
    Method {
        name: "setup",
        params: &[Param::Request],
        returns: Returns::IoResult,
        forwarder: "__socketserver_hook_setup",
        default: "`Ok(())`",
        doc: "runs before the handler; if it fails, neither the handler nor `finish` runs",
    },
    Method {
        name: "finish",
        params: &[Param::Request],
        returns: Returns::IoResult,
        forwarder: "__socketserver_hook_finish",
        default: "`Ok(())`",
        doc: "runs after the handler, even when it failed or panicked",
    },
    Method {
        name: "verify_request",
        params: &[Param::ClientAddress],
        returns: Returns::Bool,
        forwarder: "__socketserver_hook_verify_request",
        default: "`true`: every client is served",
        doc: "decides whether to serve a new client; a refused connection is closed at once",
    },
    Method {
        name: "handle_error",
        params: &[Param::ClientAddress, Param::Error],
        returns: Returns::Nothing,
        forwarder: "__socketserver_hook_handle_error",
        default: "logs the error with the client's address (`log_request_error`)",
        doc: "gets every error and panic of serving a request",
    },
    Method {
        name: "handle_timeout",
        params: &[],
        returns: Returns::Nothing,
        forwarder: "__socketserver_hook_handle_timeout",
        default: "nothing",
        doc: "`handle_request` waited its `accept_timeout` and no request came",
    },
    Method {
        name: "service_actions",
        params: &[],
        returns: Returns::Nothing,
        forwarder: "__socketserver_hook_service_actions",
        default: "nothing",
        doc: "runs on every turn of `serve_forever`, at least once per `poll_interval`",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn unique(names: impl IntoIterator<Item = &'static str>) -> bool {
        let mut seen = Vec::new();
        names.into_iter().all(|n| {
            let new = !seen.contains(&n);
            seen.push(n);
            new
        })
    }

    #[test]
    fn names_are_unique() {
        assert!(unique(KEYS.iter().map(|k| k.name)));
        assert!(unique(Transport::ALL.iter().map(|t| t.name())));
        assert!(unique(Concurrency::ALL.iter().map(|c| c.name())));
        assert!(unique(HOOKS.iter().chain([&HANDLER]).map(|h| h.name)));
        assert!(unique(HOOKS.iter().chain([&HANDLER]).map(|h| h.forwarder)));
        assert!(unique(UNITS.iter().map(|u| u.0)));
    }

    #[test]
    fn pythons_names_lead_to_keys_or_answers() {
        for key in KEYS {
            if let Some(python) = key.python
                && python != key.name
            {
                assert!(KEYS.iter().all(|k| k.name != python), "`{python}` is a key");
            }
        }
        for (python, _) in PYTHON_ONLY {
            assert!(
                KEYS.iter()
                    .all(|k| k.name != *python && k.python != Some(python))
            );
        }
    }

    #[test]
    fn spelt_out_units_lead_to_units() {
        for (spelling, unit) in UNIT_SPELLINGS {
            assert!(UNITS.iter().any(|u| u.0 == *unit), "{spelling} -> {unit}");
            assert!(
                UNITS.iter().all(|u| u.0 != *spelling),
                "{spelling} is a unit"
            );
        }
    }

    #[test]
    fn the_choice_keys_are_keys_of_their_kind() {
        let key = |name: &str| KEYS.iter().find(|k| k.name == name).unwrap();
        assert_eq!(key(Transport::KEY).value, Value::Transport);
        assert_eq!(key(Concurrency::KEY).value, Value::Concurrency);
        assert_eq!(key(Transport::KEY).sets, Sets::Type);
        assert_eq!(key(Concurrency::KEY).sets, Sets::Type);
    }

    #[test]
    fn hook_forwarders_follow_the_runtimes_naming() {
        for hook in HOOKS {
            assert_eq!(hook.forwarder, format!("__socketserver_hook_{}", hook.name));
        }
    }
}
