//! The public `Selector`, used on its own: the echo loop of Python's
//! `selectors` documentation, over real sockets, with a bounded number of turns.

use mio::net::{TcpListener, TcpStream};
use socketserver::selector::{Events, Interest, Selector};
use socketserver_tests::connect;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::thread;
use std::time::Duration;

enum Role {
    Accept,
    Read,
    Stop,
}

#[test]
fn the_selectors_echo_loop_serves_several_clients() {
    let mut sel = Selector::new().unwrap();
    let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    sel.register(&mut listener, Interest::READABLE, Role::Accept)
        .unwrap();
    let (_, waker) = sel.waker(Role::Stop).unwrap();

    let clients = thread::spawn(move || {
        let mut streams: Vec<_> = (0..5).map(|_| connect(addr)).collect();
        for (i, s) in streams.iter_mut().enumerate() {
            s.write_all(format!("hello {i}").as_bytes()).unwrap();
        }
        for (i, s) in streams.iter_mut().enumerate() {
            let expected = format!("hello {i}");
            let mut reply = vec![0; expected.len()];
            s.read_exact(&mut reply).unwrap();
            assert_eq!(reply, expected.as_bytes());
        }
        waker.wake().unwrap();
    });

    let mut conns: HashMap<_, TcpStream> = HashMap::new();
    let mut events = Events::with_capacity(16);
    let mut stopped = false;
    for _turn in 0..10_000 {
        sel.select(&mut events, Some(Duration::from_secs(20)))
            .unwrap();
        assert!(!events.is_empty(), "nothing happened for 20 s");
        for ready in events.iter() {
            match sel.get(ready.key()) {
                Some(Role::Accept) => loop {
                    match listener.accept() {
                        Ok((mut conn, _)) => {
                            let key = sel.register(&mut conn, Interest::READABLE, Role::Read);
                            conns.insert(key.unwrap(), conn);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => panic!("accept: {e}"),
                    }
                },
                Some(Role::Read) => {
                    let conn = conns.get_mut(&ready.key()).unwrap();
                    let mut buf = [0; 1000];
                    loop {
                        match conn.read(&mut buf) {
                            Ok(0) => {
                                let mut conn = conns.remove(&ready.key()).unwrap();
                                sel.unregister(&mut conn, ready.key());
                                break;
                            }
                            Ok(n) => conn.write_all(&buf[..n]).unwrap(),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => panic!("read: {e}"),
                        }
                    }
                }
                Some(Role::Stop) => stopped = true,
                None => {}
            }
        }
        if stopped {
            break;
        }
    }
    assert!(stopped, "the loop ran out of turns");
    clients.join().unwrap();
}
