//! `Struct.bind(..)`, `Struct::bind(value, ..)` and `Struct.builder()` with
//! run-time overrides of the attribute's settings.

use socketserver::{StreamRequest, handle, server};
use std::io;
use std::time::Duration;

#[server(backlog = 64, nodelay = true, timeout = "30s")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() -> io::Result<()> {
    let defaults = format!("{:?}", Echo.builder());
    assert!(defaults.contains("backlog: 64"), "{defaults}");
    assert!(defaults.contains("nodelay: true"), "{defaults}");
    assert!(defaults.contains("timeout: Some(30s)"), "{defaults}");

    let builder = Echo
        .builder()
        .backlog(4)
        .nodelay(false)
        .timeout(Some(Duration::from_secs(3)));
    let overridden = format!("{builder:?}");
    assert!(overridden.contains("backlog: 4"), "{overridden}");
    assert!(overridden.contains("nodelay: false"), "{overridden}");
    assert!(overridden.contains("timeout: Some(3s)"), "{overridden}");
    let server = builder.bind("127.0.0.1:0")?;
    assert_ne!(server.server_address().port(), 0);

    let server = Echo.bind("127.0.0.1:0")?;
    assert_ne!(server.server_address().port(), 0);
    let server = Echo::bind(Echo, ("127.0.0.1", 0))?;
    assert_ne!(server.server_address().port(), 0);
    Ok(())
}
