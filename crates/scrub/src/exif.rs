//! Just enough TIFF to tell whether an EXIF block carries GPS coordinates.

use crate::Removed;

const GPS_IFD_POINTER: u16 = 0x8825;

/// What removing this EXIF block removes: always [`Removed::Exif`], and [`Removed::Gps`]
/// when its first IFD points to a GPS IFD.
pub(crate) fn removed_by(block: &[u8]) -> &'static [Removed] {
    if has_gps(block) {
        &[Removed::Exif, Removed::Gps]
    } else {
        &[Removed::Exif]
    }
}

/// `block` is a TIFF structure, optionally behind the `Exif\0\0` header used in JPEG
/// (and by some PNG and WebP writers).
fn has_gps(block: &[u8]) -> bool {
    let tiff = block.strip_prefix(b"Exif\0\0").unwrap_or(block);
    let little_endian = match tiff.get(..4) {
        Some(b"II\x2A\x00") => true,
        Some(b"MM\x00\x2A") => false,
        _ => return false,
    };
    let u16_at = |at: usize| {
        let b = tiff.get(at..at.checked_add(2)?)?;
        let b = [*b.first()?, *b.get(1)?];
        Some(if little_endian {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = tiff.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if little_endian {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let Some(ifd0) = u32_at(4).and_then(|o| usize::try_from(o).ok()) else {
        return false;
    };
    let Some(count) = u16_at(ifd0) else {
        return false;
    };
    (0..usize::from(count))
        .filter_map(|i| i.checked_mul(12)?.checked_add(ifd0)?.checked_add(2))
        .map_while(u16_at)
        .any(|tag| tag == GPS_IFD_POINTER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ifd_with_tag(tag: u16) -> Vec<u8> {
        let mut t = b"II\x2A\x00\x08\x00\x00\x00".to_vec();
        t.extend_from_slice(&1u16.to_le_bytes());
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&[4, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        t
    }

    #[test]
    fn finds_gps_pointer_only_when_present() {
        assert!(has_gps(&ifd_with_tag(GPS_IFD_POINTER)));
        assert!(!has_gps(&ifd_with_tag(0x010F)));
        let mut with_header = b"Exif\0\0".to_vec();
        with_header.extend(ifd_with_tag(GPS_IFD_POINTER));
        assert!(has_gps(&with_header));
    }

    #[test]
    fn survives_nonsense() {
        let mut t = ifd_with_tag(GPS_IFD_POINTER);
        t.truncate(11);
        assert!(!has_gps(&t));
        assert!(!has_gps(b"MM\x00\x2A\xFF\xFF\xFF\xFF"));
        assert!(!has_gps(b"II\x2A\x00\x08\x00\x00\x00\xFF\xFF"));
        assert!(!has_gps(b""));
    }
}
