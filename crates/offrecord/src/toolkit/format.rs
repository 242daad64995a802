//! What the tools share with libotr's toolkit for reading arguments and printing fields:
//! hex arguments (`argv_to_buf`), decimal arguments as C's `sscanf("%u")` / `"%d"` read
//! them, and the `Title: hex` / `Title: decimal` lines of every tool's output.

use std::io::{self, Write};

use super::ToolkitError;
use crate::store::hex;

/// Reads a hex argument: an even number of hex digits of either case, possibly none.
///
/// libotr's `argv_to_buf`: an odd length or a non-hex character is an error (the tools
/// then print their usage); the empty string is zero bytes.
pub fn hex_arg(arg: &[u8]) -> Result<Vec<u8>, ToolkitError> {
    if !arg.len().is_multiple_of(2) {
        return Err(ToolkitError::Argument(format!(
            "argument ``{}'' must have even length",
            String::from_utf8_lossy(arg)
        )));
    }
    arg.chunks_exact(2)
        .map(|pair| match (hex_digit(pair[0]), hex_digit(pair[1])) {
            (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
            _ => Err(ToolkitError::Argument(format!(
                "illegal hex char in argument ``{}''",
                String::from_utf8_lossy(arg)
            ))),
        })
        .collect()
}

/// The value of one hex digit.
fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The C locale's `isspace`.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// A decimal number as glibc's `sscanf` reads it: leading white space, an optional sign,
/// then at least one digit; what follows the digits is ignored. The digits are converted
/// as `strtoul`/`strtol` convert them (64 bits, saturating on overflow), with the sign
/// applied; `None` when no digit follows.
///
/// Returns the 64-bit result before the narrowing to `unsigned int` / `int` that the
/// callers do.
fn scan_decimal(arg: &[u8]) -> Option<(bool, u64, bool)> {
    let mut rest = arg;
    while let [c, tail @ ..] = rest {
        if !is_c_space(*c) {
            break;
        }
        rest = tail;
    }
    let negative = match rest {
        [b'-', tail @ ..] => {
            rest = tail;
            true
        }
        [b'+', tail @ ..] => {
            rest = tail;
            false
        }
        _ => false,
    };
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    for &d in rest.get(..digits).unwrap_or_default() {
        match value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
    }
    Some((negative, value, overflow))
}

/// `sscanf(arg, "%u", &x) == 1`, and `x`: glibc reads with `strtoul` (a negative number
/// wraps around, an overflow saturates) and keeps the low 32 bits.
pub fn scan_u32(arg: &[u8]) -> Option<u32> {
    let (negative, value, overflow) = scan_decimal(arg)?;
    let wide = if overflow {
        u64::MAX
    } else if negative {
        value.wrapping_neg()
    } else {
        value
    };
    Some(wide as u32)
}

/// `sscanf(arg, "%d", &x) == 1`, and `x`: glibc reads with `strtol` (saturating at the
/// 64-bit limits) and keeps the low 32 bits.
pub fn scan_i32(arg: &[u8]) -> Option<i32> {
    let (negative, value, overflow) = scan_decimal(arg)?;
    let wide: i64 = if negative {
        if overflow || value > 1 << 63 {
            i64::MIN
        } else {
            // 2^63 itself becomes i64::MIN, as strtol gives.
            (value as i64).wrapping_neg()
        }
    } else {
        i64::try_from(value)
            .ok()
            .filter(|_| !overflow)
            .unwrap_or(i64::MAX)
    };
    Some(wide as i32)
}

/// `Title: 0011aa` (libotr's `dump_data`).
pub fn dump_data(out: &mut dyn Write, title: &str, data: &[u8]) -> io::Result<()> {
    writeln!(out, "{title}: {}", hex(data))
}

/// `Title: 123` (libotr's `dump_int`).
pub fn dump_int(out: &mut dyn Write, title: &str, value: u32) -> io::Result<()> {
    writeln!(out, "{title}: {value}")
}

/// An MPI's value in hex without leading zero bytes; zero prints as nothing (libotr's
/// `dump_mpi`, which goes through `gcry_mpi_print`).
pub fn dump_mpi(out: &mut dyn Write, title: &str, be: &[u8]) -> io::Result<()> {
    dump_data(out, title, minimal(be))
}

/// `be` without its leading zero bytes.
pub fn minimal(be: &[u8]) -> &[u8] {
    let start = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    be.get(start..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn hex_arguments() {
        assert_eq!(hex_arg(b"").unwrap(), Vec::<u8>::new());
        assert_eq!(hex_arg(b"00aAfF").unwrap(), vec![0, 0xaa, 0xff]);
        assert!(hex_arg(b"abc").is_err());
        assert!(hex_arg(b"zz").is_err());
        assert!(hex_arg("é".as_bytes()).is_err());
    }

    #[test]
    fn decimal_arguments_read_as_glibc_does() {
        assert_eq!(scan_u32(b"12"), Some(12));
        assert_eq!(scan_u32(b" \t+12abc"), Some(12));
        assert_eq!(scan_u32(b"-1"), Some(u32::MAX));
        assert_eq!(scan_u32(b"-5"), Some(u32::MAX - 4));
        assert_eq!(scan_u32(b"4294967296"), Some(0));
        assert_eq!(scan_u32(b"99999999999999999999999"), Some(u32::MAX));
        assert_eq!(scan_u32(b"0x10"), Some(0));
        for bad in [&b""[..], b"  ", b"-", b"+x", b"x1"] {
            assert_eq!(scan_u32(bad), None);
            assert_eq!(scan_i32(bad), None);
        }
        assert_eq!(scan_i32(b"-1"), Some(-1));
        assert_eq!(scan_i32(b"2147483648"), Some(i32::MIN));
        assert_eq!(scan_i32(b"99999999999999999999"), Some(-1));
        assert_eq!(scan_i32(b"-99999999999999999999"), Some(0));
        assert_eq!(scan_i32(b"-9223372036854775808"), Some(0));
    }

    #[test]
    fn mpis_print_without_leading_zeros() {
        let mut out = Vec::new();
        dump_mpi(&mut out, "\tY", &[0, 0, 1, 2]).unwrap();
        dump_mpi(&mut out, "\tZ", &[0, 0]).unwrap();
        assert_eq!(out, b"\tY: 0102\n\tZ: \n");
    }
}
