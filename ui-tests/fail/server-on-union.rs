//! `#[server]` on a union: it goes on a struct.

use socketserver::server;

#[server]
union Echo {
    number: u32,
    bytes: [u8; 4],
}

fn main() {
    let echo = Echo { number: 1 };
    let _ = unsafe { echo.bytes };
}
