//! A loopback port that refuses connections for as long as it is held: a
//! socket bound to it that never listens. Binding a listener, noting its
//! port and closing it would leave the port free, and another test's server
//! could take it before the call that expects a refusal is made.

use std::net::SocketAddr;

pub struct ClosedPort {
    addr: SocketAddr,
    _socket: tokio::net::TcpSocket,
}

impl ClosedPort {
    pub fn new() -> std::io::Result<Self> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        Ok(Self {
            addr: socket.local_addr()?,
            _socket: socket,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}
