//! The event engine's hot path allocates nothing: once a connection is open,
//! a request and its reply (read, handler, write) cost no allocation. Counted
//! with a global allocator that counts every allocation of the process, so
//! the client below allocates nothing while it is counted either.

// A global allocator is an `unsafe` trait: there is no safe way to count.
#![allow(unsafe_code)]

use socketserver::{Conn, Event, Server, Tcp, handler_fn};
use socketserver_tests::{BOUND, serve};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to the system allocator with the same arguments;
// counting is an atomic add, which neither allocates nor panics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract for `realloc`, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

const WARM_UP: usize = 100;
const COUNTED: usize = 2_000;

#[test]
fn a_request_and_its_reply_allocate_nothing_once_the_connection_is_open() {
    let echo = handler_fn(|conn: &mut Conn| {
        let (input, output, ()) = conn.parts();
        output.write_all(input.bytes())?;
        let n = input.bytes().len();
        input.consume(n);
        Ok(())
    });
    let server = Server::<Tcp, Event, _>::builder(echo)
        .workers(1)
        .shutdown_timeout(BOUND)
        // The accept loop's own turns (and their `service_actions`) stay
        // out of the count.
        .poll_interval(BOUND)
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let mut client = TcpStream::connect(running.addr()).unwrap();
    client.set_read_timeout(Some(BOUND)).unwrap();
    client.set_nodelay(true).unwrap();
    let request = [b'x'; 64];
    let mut reply = [0; 64];
    let mut round_trip = || {
        client.write_all(&request).unwrap();
        client.read_exact(&mut reply).unwrap();
        assert_eq!(reply, request);
    };
    for _ in 0..WARM_UP {
        round_trip();
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    assert!(
        before > 0,
        "the allocator counts (opening the server allocates)"
    );
    for _ in 0..COUNTED {
        round_trip();
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(
        allocations, 0,
        "{allocations} allocations in {COUNTED} round trips"
    );
}
