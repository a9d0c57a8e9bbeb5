//! The simulator's lines: a pseudo-terminal that a driver opens as a serial
//! port, or a TCP socket (port 9100 style).

use crate::printer::SimHandle;
use legitka_drivers::evolis::wire::{Parser, CR};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::openpty;
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info};

/// One side of a byte line, read with a timeout.
pub trait Link: Send {
    /// `Ok(0)`: nothing within the timeout. An error ends this connection.
    fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> std::io::Result<usize>;
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()>;
    /// Whether an unplugged printer ends the connection (TCP) rather than
    /// just falling silent (a serial line).
    fn hangs_up(&self) -> bool {
        false
    }
}

/// A pseudo-terminal. The simulator holds both ends open, so a driver that
/// closes and reopens the slave (a daemon restart) finds the line as it was.
pub struct PtyLink {
    master: std::fs::File,
    _slave: OwnedFd,
    path: String,
}

impl PtyLink {
    pub fn open() -> std::io::Result<Self> {
        let pty = openpty(None, None).map_err(std::io::Error::from)?;
        // Raw mode: a serial printer line carries binary panels, which the
        // terminal's line discipline would otherwise translate.
        let mut t = tcgetattr(&pty.slave).map_err(std::io::Error::from)?;
        cfmakeraw(&mut t);
        tcsetattr(&pty.slave, SetArg::TCSANOW, &t).map_err(std::io::Error::from)?;
        let path = nix::unistd::ttyname(&pty.slave)
            .map_err(std::io::Error::from)?
            .to_string_lossy()
            .into_owned();
        Ok(PtyLink {
            master: std::fs::File::from(pty.master),
            _slave: pty.slave,
            path,
        })
    }

    /// The path a driver opens, e.g. `/dev/pts/3`.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl Link for PtyLink {
    fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> std::io::Result<usize> {
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
        let ready = poll(&mut fds, PollTimeout::from(ms)).map_err(std::io::Error::from)?;
        if ready == 0 {
            return Ok(0);
        }
        match self.master.read(buf) {
            Ok(n) => Ok(n),
            // EIO: nobody has the slave open; with our own slave fd open this
            // is transient.
            Err(e) if e.raw_os_error() == Some(nix::libc::EIO) => {
                std::thread::sleep(timeout);
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        Write::write_all(&mut self.master, data)
    }
}

impl Link for TcpStream {
    fn hangs_up(&self) -> bool {
        true
    }

    fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> std::io::Result<usize> {
        legitka_drivers::transport::tcp_read_timeout(self, buf, timeout)
    }

    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        Write::write_all(self, data)
    }
}

/// Serves one connection until it ends or `stop` is set.
pub fn serve(link: &mut dyn Link, sim: &SimHandle, stop: &AtomicBool) -> std::io::Result<()> {
    let (w, h) = sim.with(|p| (p.config().width, p.config().height));
    let mut parser = Parser::new(w, h);
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        let n = link.read_timeout(&mut buf, Duration::from_millis(20))?;
        if sim.with(|p| p.is_unplugged()) {
            if link.hangs_up() {
                return Err(std::io::ErrorKind::ConnectionReset.into());
            }
            // Whatever arrives while unplugged is lost, half frames included.
            parser = Parser::new(w, h);
            continue;
        }
        parser.push(&buf[..n]);
        while let Some(frame) = parser.next_frame() {
            let Some(reply) = sim.with(|p| p.handle(frame)) else {
                continue;
            };
            if sim.with(|p| p.is_unplugged()) {
                continue;
            }
            let (noise, delay) = sim.with(|p| (p.noise(), p.faults.reply_delay));
            if !delay.is_zero() {
                std::thread::sleep(delay);
            }
            if let Some(noise) = noise {
                link.write_all(noise)?;
            }
            debug!(reply = %reply, "sim reply");
            let mut bytes = reply.into_bytes();
            bytes.push(CR);
            link.write_all(&bytes)?;
        }
        sim.with(|p| p.tick());
    }
    Ok(())
}

/// Accepts TCP connections one after another, as a printer's raw port does.
pub struct TcpListenerLink {
    listener: TcpListener,
}

impl TcpListenerLink {
    pub fn bind(addr: &str) -> std::io::Result<Self> {
        Ok(TcpListenerLink {
            listener: TcpListener::bind(addr)?,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    pub fn run(self, sim: SimHandle, stop: Arc<AtomicBool>) -> std::io::Result<()> {
        self.listener.set_nonblocking(true)?;
        while !stop.load(Ordering::Relaxed) {
            match self.listener.accept() {
                Ok((mut stream, peer)) => {
                    if sim.with(|p| p.is_unplugged()) {
                        // Nobody answers at an unplugged printer's address.
                        drop(stream);
                        continue;
                    }
                    stream.set_nonblocking(false)?;
                    info!(%peer, "driver connected");
                    if let Err(e) = serve(&mut stream, &sim, &stop) {
                        info!(error = %e, "driver disconnected");
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    sim.with(|p| {
                        p.tick();
                        p.is_unplugged()
                    });
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Starts a simulator on a fresh pseudo-terminal in a thread of its own and
/// returns the slave's path.
pub fn spawn_pty(sim: SimHandle, stop: Arc<AtomicBool>) -> std::io::Result<String> {
    let mut link = PtyLink::open()?;
    let path = link.path().to_string();
    std::thread::Builder::new()
        .name("legitka-sim".into())
        .spawn(move || {
            if let Err(e) = serve(&mut link, &sim, &stop) {
                info!(error = %e, "simulator line closed");
            }
        })?;
    Ok(path)
}
