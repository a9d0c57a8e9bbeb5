//! Byte pipes to a printer: serial (and pseudo-terminals), raw TCP, USB.
//!
//! A transport moves bytes and nothing else; the printer language lives in
//! its driver. Every read has a timeout so a silent printer never hangs the
//! station.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TransportError {
    #[error("cannot open {uri}: {message}")]
    Open { uri: String, message: String },
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("usb: {0}")]
    Usb(#[from] rusb::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("bad printer uri {0:?}: expected usb:auto, usb:VVVV:PPPP[:serial], serial:/dev/..., tcp://host:port, ipp://host:631/..., cups:QUEUE or sim")]
    BadUri(String),
}

pub trait Transport: Send {
    fn write_all(&mut self, data: &[u8]) -> Result<(), TransportError>;
    /// Reads what is there within `timeout`; `Ok(0)` means nothing came.
    fn read_some(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError>;
    fn describe(&self) -> String;
}

/// Where the printer is, as written in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterUri {
    /// The simulator, started in-process by the station.
    Sim,
    Serial(String),
    Tcp(String),
    Usb {
        vendor: u16,
        product: u16,
        serial: Option<String>,
    },
    /// The first USB printer-class device of a known make.
    UsbAuto,
    /// An IPP printer or CUPS queue (`ipp://`, `ipps://`, `http://`, or
    /// `cups:QUEUE` for the local CUPS): not a byte stream, a job service.
    Ipp(crate::ipp::Endpoint),
}

/// USB vendors whose card printers speak a protocol we drive.
pub const KNOWN_USB_VENDORS: &[(u16, &str)] = &[(0x0f49, "Evolis")];

impl std::str::FromStr for PrinterUri {
    type Err = TransportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || TransportError::BadUri(s.to_string());
        if s == "sim" {
            return Ok(PrinterUri::Sim);
        }
        if let Some(path) = s.strip_prefix("serial:") {
            if path.is_empty() {
                return Err(bad());
            }
            return Ok(PrinterUri::Serial(path.to_string()));
        }
        if let Some(addr) = s.strip_prefix("tcp://") {
            if !addr.contains(':') {
                return Err(bad());
            }
            return Ok(PrinterUri::Tcp(addr.trim_end_matches('/').to_string()));
        }
        if s == "usb:auto" {
            return Ok(PrinterUri::UsbAuto);
        }
        if ["ipp://", "ipps://", "http://", "https://"]
            .iter()
            .any(|p| s.starts_with(p))
            || s.strip_prefix("cups:")
                .is_some_and(|q| !q.is_empty() && !q.contains('/'))
        {
            return Ok(PrinterUri::Ipp(crate::ipp::Endpoint::new(s)));
        }
        if let Some(rest) = s.strip_prefix("usb:") {
            let mut parts = rest.splitn(3, ':');
            let vendor = parts.next().and_then(|v| u16::from_str_radix(v, 16).ok());
            let product = parts.next().and_then(|v| u16::from_str_radix(v, 16).ok());
            let serial = parts.next().map(str::to_string);
            return match (vendor, product) {
                (Some(vendor), Some(product)) => Ok(PrinterUri::Usb {
                    vendor,
                    product,
                    serial,
                }),
                _ => Err(bad()),
            };
        }
        Err(bad())
    }
}

/// Opens the transport a URI names. `Sim` is not a transport of its own: the
/// station starts a simulator and hands its pseudo-terminal path to
/// [`PrinterUri::Serial`].
pub fn open_uri(uri: &PrinterUri) -> Result<Box<dyn Transport>, TransportError> {
    match uri {
        PrinterUri::Sim => Err(TransportError::BadUri("sim".into())),
        PrinterUri::Serial(path) => Ok(Box::new(SerialTransport::open(path)?)),
        PrinterUri::Tcp(addr) => Ok(Box::new(TcpTransport::connect(addr)?)),
        PrinterUri::Usb {
            vendor,
            product,
            serial,
        } => Ok(Box::new(UsbTransport::open(
            Some((*vendor, *product)),
            serial.as_deref(),
        )?)),
        PrinterUri::UsbAuto => Ok(Box::new(UsbTransport::open(None, None)?)),
        PrinterUri::Ipp(uri) => Err(TransportError::Open {
            uri: uri.to_string(),
            message: "an IPP printer takes jobs, not a byte stream: give it a profile with protocol = \"ipp\"".into(),
        }),
    }
}

pub struct SerialTransport {
    path: String,
    port: Box<dyn serialport::SerialPort>,
}

impl SerialTransport {
    pub fn open(path: &str) -> Result<Self, TransportError> {
        // Card printers on serial lines run at 115200 8N1 without flow control;
        // a pseudo-terminal ignores the speed.
        let port = serialport::new(path, 115_200)
            .timeout(Duration::from_millis(100))
            .open()
            .map_err(|e| TransportError::Open {
                uri: format!("serial:{path}"),
                message: e.to_string(),
            })?;
        Ok(SerialTransport {
            path: path.to_string(),
            port,
        })
    }
}

impl Transport for SerialTransport {
    fn write_all(&mut self, data: &[u8]) -> Result<(), TransportError> {
        self.port.write_all(data)?;
        self.port.flush()?;
        Ok(())
    }

    fn read_some(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        self.port
            .set_timeout(timeout)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        match self.port.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    fn describe(&self) -> String {
        format!("serial:{}", self.path)
    }
}

/// Reads what a socket has within `timeout`: `Ok(0)` when nothing came, an
/// error when the peer closed. Shared with the simulator's TCP side.
pub fn tcp_read_timeout(
    stream: &mut TcpStream,
    buf: &mut [u8],
    timeout: Duration,
) -> std::io::Result<usize> {
    stream.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
    match stream.read(buf) {
        Ok(0) => Err(std::io::ErrorKind::UnexpectedEof.into()),
        Ok(n) => Ok(n),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Ok(0)
        }
        Err(e) => Err(e),
    }
}

pub struct TcpTransport {
    addr: String,
    stream: TcpStream,
}

impl TcpTransport {
    pub fn connect(addr: &str) -> Result<Self, TransportError> {
        let open = |message: String| TransportError::Open {
            uri: format!("tcp://{addr}"),
            message,
        };
        use std::net::ToSocketAddrs;
        let target = addr
            .to_socket_addrs()
            .map_err(|e| open(e.to_string()))?
            .next()
            .ok_or_else(|| open("no address".into()))?;
        // A printer switched off behind a firewall drops the SYN: without a
        // bound, connect() waits two minutes.
        let stream = TcpStream::connect_timeout(&target, std::time::Duration::from_secs(5))
            .map_err(|e| open(e.to_string()))?;
        stream.set_nodelay(true)?;
        Ok(TcpTransport {
            addr: addr.to_string(),
            stream,
        })
    }
}

impl Transport for TcpTransport {
    fn write_all(&mut self, data: &[u8]) -> Result<(), TransportError> {
        self.stream.write_all(data)?;
        Ok(())
    }

    fn read_some(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        Ok(tcp_read_timeout(&mut self.stream, buf, timeout)?)
    }

    fn describe(&self) -> String {
        format!("tcp://{}", self.addr)
    }
}

/// A USB printer-class device (interface class 7), bulk OUT for commands and
/// bulk IN for answers.
pub struct UsbTransport {
    handle: rusb::DeviceHandle<rusb::Context>,
    interface: u8,
    ep_out: u8,
    ep_in: u8,
    /// The IEEE 1284 device id (`MFG:...;MDL:...;SN:...`), read at connect.
    pub device_id: String,
    label: String,
}

const USB_CLASS_PRINTER: u8 = 7;

impl UsbTransport {
    /// Opens the device with this vendor and product id, or with `None` the
    /// first printer-class device of a known vendor.
    pub fn open(id: Option<(u16, u16)>, serial: Option<&str>) -> Result<Self, TransportError> {
        use rusb::UsbContext;
        let mut label = match id {
            Some((vendor, product)) => format!("usb:{vendor:04x}:{product:04x}"),
            None => "usb:auto".to_string(),
        };
        let open_err = |label: &str, message: String| TransportError::Open {
            uri: label.to_string(),
            message,
        };
        // A context of our own: libusb's global one panics, for good, when
        // it cannot start (no USB bus, netlink refused by a sandbox).
        let context = rusb::Context::new()
            .map_err(|e| open_err(&label, format!("libusb cannot start: {e}")))?;
        for device in context.devices()?.iter() {
            let desc = device.device_descriptor()?;
            let wanted = match id {
                Some((vendor, product)) => {
                    desc.vendor_id() == vendor && desc.product_id() == product
                }
                None => KNOWN_USB_VENDORS
                    .iter()
                    .any(|(v, _)| *v == desc.vendor_id()),
            };
            if !wanted {
                continue;
            }
            if id.is_none() {
                label = format!("usb:{:04x}:{:04x}", desc.vendor_id(), desc.product_id());
            }
            let handle = device.open()?;
            if let Some(want) = serial {
                let got = handle
                    .read_serial_number_string_ascii(&desc)
                    .unwrap_or_default();
                if got != want {
                    continue;
                }
            }
            let config = device.active_config_descriptor()?;
            for iface in config.interfaces() {
                for alt in iface.descriptors() {
                    if alt.class_code() != USB_CLASS_PRINTER {
                        continue;
                    }
                    let mut ep_out = None;
                    let mut ep_in = None;
                    for ep in alt.endpoint_descriptors() {
                        if ep.transfer_type() != rusb::TransferType::Bulk {
                            continue;
                        }
                        match ep.direction() {
                            rusb::Direction::Out => ep_out = Some(ep.address()),
                            rusb::Direction::In => ep_in = Some(ep.address()),
                        }
                    }
                    let (Some(ep_out), Some(ep_in)) = (ep_out, ep_in) else {
                        continue;
                    };
                    let number = alt.interface_number();
                    // usblp holds the interface when the kernel module is loaded.
                    let _ = handle.set_auto_detach_kernel_driver(true);
                    handle.claim_interface(number)?;
                    if alt.setting_number() != 0 {
                        handle.set_alternate_setting(number, alt.setting_number())?;
                    }
                    let device_id =
                        read_1284_id(&handle, config.number(), number, alt.setting_number())
                            .unwrap_or_default();
                    return Ok(UsbTransport {
                        handle,
                        interface: number,
                        ep_out,
                        ep_in,
                        device_id,
                        label: label.clone(),
                    });
                }
            }
            if id.is_none() {
                continue;
            }
            return Err(open_err(
                &label,
                "device has no printer-class interface with bulk endpoints".into(),
            ));
        }
        let what = match id {
            Some(_) => "no such device attached".to_string(),
            None => format!(
                "no card printer of a known make ({}) attached",
                KNOWN_USB_VENDORS
                    .iter()
                    .map(|(v, n)| format!("{n} {v:04x}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        Err(open_err(&label, what))
    }
}

/// GET_DEVICE_ID from the USB printer class specification 1.1, section 4.2.1:
/// two big-endian length bytes, then the IEEE 1284 id string.
fn read_1284_id(
    handle: &rusb::DeviceHandle<rusb::Context>,
    config: u8,
    interface: u8,
    alt: u8,
) -> Result<String, rusb::Error> {
    let mut buf = [0u8; 1024];
    let n = handle.read_control(
        0xA1,
        0,
        u16::from(config.saturating_sub(1)),
        (u16::from(interface) << 8) | u16::from(alt),
        &mut buf,
        Duration::from_secs(2),
    )?;
    if n < 2 {
        return Ok(String::new());
    }
    let len = (usize::from(buf[0]) << 8 | usize::from(buf[1])).min(n);
    Ok(String::from_utf8_lossy(&buf[2..len]).into_owned())
}

impl Drop for UsbTransport {
    fn drop(&mut self) {
        let _ = self.handle.release_interface(self.interface);
    }
}

impl Transport for UsbTransport {
    fn write_all(&mut self, data: &[u8]) -> Result<(), TransportError> {
        let mut sent = 0;
        while sent < data.len() {
            sent += self
                .handle
                .write_bulk(self.ep_out, &data[sent..], Duration::from_secs(10))?;
        }
        Ok(())
    }

    fn read_some(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        match self.handle.read_bulk(self.ep_in, buf, timeout) {
            Ok(n) => Ok(n),
            Err(rusb::Error::Timeout) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    fn describe(&self) -> String {
        self.label.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_uri_form_and_refuses_nonsense() {
        assert_eq!("sim".parse::<PrinterUri>().unwrap(), PrinterUri::Sim);
        assert_eq!(
            "serial:/dev/ttyUSB0".parse::<PrinterUri>().unwrap(),
            PrinterUri::Serial("/dev/ttyUSB0".into())
        );
        assert_eq!(
            "tcp://10.0.0.5:9100".parse::<PrinterUri>().unwrap(),
            PrinterUri::Tcp("10.0.0.5:9100".into())
        );
        assert_eq!(
            "usb:0f49:0001:A1234".parse::<PrinterUri>().unwrap(),
            PrinterUri::Usb {
                vendor: 0x0f49,
                product: 1,
                serial: Some("A1234".into())
            }
        );
        assert_eq!(
            "usb:auto".parse::<PrinterUri>().unwrap(),
            PrinterUri::UsbAuto
        );
        for bad in [
            "",
            "serial:",
            "tcp://nohost",
            "usb:zz:1",
            "lpt1",
            "usb:automatic",
        ] {
            assert!(bad.parse::<PrinterUri>().is_err(), "{bad} accepted");
        }
    }
}
