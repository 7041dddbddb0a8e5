//! Evidence files built in the tests, with identifying metadata planted in known places.

use std::io::{Cursor, Write};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder};
use lopdf::{Document, Object, Stream, StringFormat, dictionary};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// The reporter's name, planted in every kind of metadata; it must never survive.
pub const AUTHOR: &[u8] = b"Jane Reporter";
pub const XMP_NAMESPACE: &[u8] = b"http://ns.adobe.com/xap/1.0/";
/// A GPS IFD pointer entry as written in a little-endian TIFF: tag 0x8825, LONG, count 1.
pub const GPS_POINTER_ENTRY: &[u8] = &[0x25, 0x88, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00];

pub const WIDTH: u32 = 48;
pub const HEIGHT: u32 = 32;

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn gradient() -> Vec<u8> {
    (0..HEIGHT)
        .flat_map(|y| (0..WIDTH).flat_map(move |x| [(x * 5) as u8, (y * 7) as u8, ((x + y) * 3) as u8]))
        .collect()
}

/// Decoded pixels, to compare renditions with originals.
pub fn pixels(bytes: &[u8]) -> Vec<u8> {
    image::load_from_memory(bytes)
        .expect("image decodes")
        .into_bytes()
}

// ---------------------------------------------------------------- metadata blocks

/// A little-endian TIFF with Make, Artist and a GPS IFD holding latitude and longitude.
pub fn exif_tiff() -> Vec<u8> {
    const ASCII: u16 = 2;
    const LONG: u16 = 4;
    const RATIONAL: u16 = 5;
    let rationals = |values: [u32; 3]| {
        values
            .iter()
            .flat_map(|v| [v.to_le_bytes(), 1u32.to_le_bytes()])
            .flatten()
            .collect::<Vec<u8>>()
    };
    let gps_entries: Vec<(u16, u16, u32, Vec<u8>)> = vec![
        (0x0001, ASCII, 2, b"N\0".to_vec()),
        (0x0002, RATIONAL, 3, rationals([48, 51, 24])),
        (0x0003, ASCII, 2, b"E\0".to_vec()),
        (0x0004, RATIONAL, 3, rationals([2, 21, 3])),
    ];
    let ifd0_len = 2 + 3 * 12 + 4;
    let make = b"TestCam\0".to_vec();
    let mut artist = AUTHOR.to_vec();
    artist.push(0);
    let gps_at = 8 + ifd0_len + make.len() + artist.len();
    let ifd0_entries: Vec<(u16, u16, u32, Vec<u8>)> = vec![
        (0x010F, ASCII, make.len() as u32, make),
        (0x013B, ASCII, artist.len() as u32, artist),
        (0x8825, LONG, 1, (gps_at as u32).to_le_bytes().to_vec()),
    ];
    let mut tiff = b"II\x2A\x00\x08\x00\x00\x00".to_vec();
    write_ifd(&mut tiff, &ifd0_entries);
    assert_eq!(tiff.len(), gps_at);
    write_ifd(&mut tiff, &gps_entries);
    tiff
}

/// Writes an IFD at the end of `tiff`, with values over four bytes right after it.
fn write_ifd(tiff: &mut Vec<u8>, entries: &[(u16, u16, u32, Vec<u8>)]) {
    let mut data_at = tiff.len() + 2 + entries.len() * 12 + 4;
    let mut data = Vec::new();
    tiff.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&count.to_le_bytes());
        if value.len() <= 4 {
            let mut inline = value.clone();
            inline.resize(4, 0);
            tiff.extend_from_slice(&inline);
        } else {
            tiff.extend_from_slice(&(data_at as u32).to_le_bytes());
            data_at += value.len();
            data.extend_from_slice(value);
        }
    }
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(&data);
}

pub fn xmp_packet() -> Vec<u8> {
    let mut xmp = br#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator><rdf:Seq><rdf:li>"#.to_vec();
    xmp.extend_from_slice(AUTHOR);
    xmp.extend_from_slice(
        br#"</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#,
    );
    xmp
}

fn with_prefix(prefix: &[u8], body: &[u8]) -> Vec<u8> {
    [prefix, body].concat()
}

// ---------------------------------------------------------------- JPEG

pub fn jpeg_plain() -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .encode(&gradient(), WIDTH, HEIGHT, ExtendedColorType::Rgb8)
        .unwrap();
    out
}

pub fn jpeg_segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len() + 2).unwrap();
    [&[0xFF, marker][..], &len.to_be_bytes(), payload].concat()
}

/// A fake but well-formed ICC profile chunk: it must be kept.
pub const ICC_CHUNK: &[u8] = b"ICC_PROFILE\0\x01\x01fake-profile-bytes";

/// EXIF (with GPS), XMP, Photoshop IRB, a comment and an ICC profile after SOI, and a
/// trailing secondary image after EOI.
pub fn jpeg_with_metadata() -> Vec<u8> {
    let plain = jpeg_plain();
    let mut out = plain[..2].to_vec();
    out.extend(jpeg_segment(0xE1, &with_prefix(b"Exif\0\0", &exif_tiff())));
    out.extend(jpeg_segment(
        0xE1,
        &with_prefix(b"http://ns.adobe.com/xap/1.0/\0", &xmp_packet()),
    ));
    out.extend(jpeg_segment(
        0xED,
        &with_prefix(
            b"Photoshop 3.0\08BIM\x04\x04\0\0\0\0\0\x0F\x1C\x02\x50\0\x0D",
            AUTHOR,
        ),
    ));
    out.extend(jpeg_segment(0xFE, AUTHOR));
    out.extend(jpeg_segment(0xE2, ICC_CHUNK));
    out.extend_from_slice(&plain[2..]);
    out.extend_from_slice(b"\xFF\xD8trailing MPF image by ");
    out.extend_from_slice(AUTHOR);
    out
}

/// The bytes from the first SOS marker to EOI: the entropy-coded image data.
pub fn jpeg_scan_data(jpeg: &[u8]) -> &[u8] {
    let mut pos = 2;
    while jpeg[pos + 1] != 0xDA {
        pos += 2 + usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
    }
    let end = jpeg.windows(2).rposition(|w| w == [0xFF, 0xD9]).unwrap();
    &jpeg[pos..end + 2]
}

/// Markers of the segments before the first scan.
pub fn jpeg_header_markers(jpeg: &[u8]) -> Vec<u8> {
    let mut markers = Vec::new();
    let mut pos = 2;
    while jpeg[pos + 1] != 0xDA {
        markers.push(jpeg[pos + 1]);
        pos += 2 + usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
    }
    markers
}

// ---------------------------------------------------------------- PNG

pub fn png_plain() -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(&gradient(), WIDTH, HEIGHT, ExtendedColorType::Rgb8)
        .unwrap();
    out
}

pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(&crc32(&chunk[4..]).to_be_bytes());
    chunk
}

/// tEXt Author, eXIf with GPS, iTXt XMP, tIME and a private chunk after IHDR; a gAMA chunk
/// that must be kept; trailing bytes after IEND.
pub fn png_with_metadata() -> Vec<u8> {
    let plain = png_plain();
    let after_ihdr = 8 + 12 + 13;
    let mut out = plain[..after_ihdr].to_vec();
    out.extend(png_chunk(b"gAMA", &45455u32.to_be_bytes()));
    out.extend(png_chunk(b"tEXt", &with_prefix(b"Author\0", AUTHOR)));
    out.extend(png_chunk(b"eXIf", &exif_tiff()));
    out.extend(png_chunk(
        b"iTXt",
        &with_prefix(b"XML:com.adobe.xmp\0\0\0\0\0", &xmp_packet()),
    ));
    out.extend(png_chunk(b"tIME", &[0x07, 0xE8, 5, 1, 12, 30, 0]));
    out.extend(png_chunk(b"prVW", AUTHOR));
    out.extend_from_slice(&plain[after_ihdr..]);
    out.extend_from_slice(AUTHOR);
    out
}

pub fn png_chunk_types(png: &[u8]) -> Vec<[u8; 4]> {
    let mut types = Vec::new();
    let mut pos = 8;
    while pos + 8 <= png.len() {
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = png[pos + 4..pos + 8].try_into().unwrap();
        types.push(kind);
        pos += 12 + len;
        if &kind == b"IEND" {
            break;
        }
    }
    types
}

// ---------------------------------------------------------------- WebP

pub fn webp_plain() -> Vec<u8> {
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out)
        .encode(&gradient(), WIDTH, HEIGHT, ExtendedColorType::Rgb8)
        .unwrap();
    out
}

pub fn riff_chunk(fourcc: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = fourcc.to_vec();
    chunk.extend_from_slice(&(data.len() as u32).to_le_bytes());
    chunk.extend_from_slice(data);
    if data.len() % 2 == 1 {
        chunk.push(0);
    }
    chunk
}

pub fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
    let body = chunks.concat();
    [
        b"RIFF".as_slice(),
        &((body.len() + 4) as u32).to_le_bytes(),
        b"WEBP",
        &body,
    ]
    .concat()
}

pub const VP8X_EXIF: u8 = 0x08;
pub const VP8X_XMP: u8 = 0x04;

/// The extended format around the encoder's VP8L chunk, with EXIF, XMP and unknown chunks.
pub fn webp_with_metadata() -> Vec<u8> {
    let plain = webp_plain();
    assert_eq!(&plain[12..16], b"VP8L");
    let vp8l = plain[12..].to_vec();
    let mut vp8x = vec![VP8X_EXIF | VP8X_XMP, 0, 0, 0];
    vp8x.extend_from_slice(&(WIDTH - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(HEIGHT - 1).to_le_bytes()[..3]);
    let mut out = riff(&[
        riff_chunk(b"VP8X", &vp8x),
        vp8l,
        riff_chunk(b"EXIF", &exif_tiff()),
        riff_chunk(b"XMP ", &xmp_packet()),
        riff_chunk(b"AUTH", AUTHOR),
    ]);
    out.extend_from_slice(AUTHOR);
    out
}

/// FourCCs of the top-level chunks.
pub fn riff_fourccs(webp: &[u8]) -> Vec<[u8; 4]> {
    let mut fourccs = Vec::new();
    let mut pos = 12;
    while pos + 8 <= webp.len() {
        fourccs.push(webp[pos..pos + 4].try_into().unwrap());
        let size = u32::from_le_bytes(webp[pos + 4..pos + 8].try_into().unwrap()) as usize;
        pos += 8 + size + size % 2;
    }
    fourccs
}

// ---------------------------------------------------------------- PDF

pub const PAGE_CONTENTS: [&str; 2] = [
    "BT /F1 24 Tf 72 700 Td (Page one of the evidence) Tj ET",
    "BT /F1 24 Tf 72 700 Td (Page two) Tj ET",
];

fn literal(bytes: &[u8]) -> Object {
    Object::String(bytes.to_vec(), StringFormat::Literal)
}

/// Two pages; `/Info`, catalog XMP, page `/PieceInfo`, an annotation author and a JPEG
/// image with EXIF, then an incremental update that adds a new `/Info` and supersedes the
/// XMP stream.
pub fn pdf_with_metadata() -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let jpeg = jpeg_with_metadata();
    let image_id = doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => WIDTH as i64, "Height" => HEIGHT as i64,
            "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8, "Filter" => "DCTDecode",
        },
        jpeg,
    ));
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
        "XObject" => dictionary! { "Im1" => image_id },
    });
    let annotation_id = doc.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Text", "Rect" => vec![100.into(), 100.into(), 120.into(), 120.into()],
        "T" => literal(AUTHOR), "Contents" => literal(b"look here"),
    });
    let mut kids = Vec::new();
    for (i, content) in PAGE_CONTENTS.iter().enumerate() {
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.as_bytes().to_vec()));
        let mut page = dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
            "PieceInfo" => dictionary! { "SecretApp" => dictionary! { "Private" => literal(AUTHOR) } },
            "LastModified" => literal(b"D:20240501120000Z"),
        };
        if i == 0 {
            page.set("Annots", vec![annotation_id.into()]);
        }
        kids.push(doc.add_object(page).into());
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => 2, "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let xmp_id = doc.add_object(Stream::new(
        dictionary! { "Type" => "Metadata", "Subtype" => "XML" },
        xmp_packet(),
    ));
    let catalog_id =
        doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id, "Metadata" => xmp_id });
    let info_id = doc.add_object(dictionary! {
        "Author" => literal(AUTHOR), "Producer" => literal(b"SecretTool 1.0"),
        "CreationDate" => literal(b"D:20240501120000Z"),
    });
    doc.trailer.set("Root", catalog_id);
    doc.trailer.set("Info", info_id);
    let file_id = Object::String(b"0123456789abcdef".to_vec(), StringFormat::Hexadecimal);
    doc.trailer.set("ID", vec![file_id.clone(), file_id]);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();

    let new_info = doc.max_id + 1;
    append_update(
        &mut bytes,
        &[
            (
                xmp_id.0,
                stream_object(xmp_id.0, "/Type /Metadata /Subtype /XML", &xmp_packet()),
            ),
            (
                new_info,
                format!("{new_info} 0 obj\n<< /Author (Jane Reporter) /Title (Revision 2) >>\nendobj\n")
                    .into_bytes(),
            ),
        ],
        &format!(
            "/Size {} /Root {} 0 R /Info {new_info} 0 R /ID [<00ff> <00ff>]",
            new_info + 1,
            catalog_id.0
        ),
    );
    bytes
}

fn stream_object(id: u32, dict: &str, content: &[u8]) -> Vec<u8> {
    let mut object = format!("{id} 0 obj\n<< {dict} /Length {} >>\nstream\n", content.len()).into_bytes();
    object.extend_from_slice(content);
    object.extend_from_slice(b"\nendstream\nendobj\n");
    object
}

/// Appends an incremental update: the objects, an xref section and a trailer with `/Prev`.
pub fn append_update(pdf: &mut Vec<u8>, objects: &[(u32, Vec<u8>)], trailer: &str) {
    let prev = last_startxref(pdf);
    let mut xref = String::from("xref\n0 1\n0000000000 65535 f \n");
    for (id, object) in objects {
        xref.push_str(&format!("{id} 1\n{:010} 00000 n \n", pdf.len()));
        pdf.extend_from_slice(object);
    }
    let xref_at = pdf.len();
    pdf.extend_from_slice(xref.as_bytes());
    pdf.extend_from_slice(
        format!("trailer\n<< {trailer} /Prev {prev} >>\nstartxref\n{xref_at}\n%%EOF\n").as_bytes(),
    );
}

fn last_startxref(pdf: &[u8]) -> usize {
    let at = pdf.windows(9).rposition(|w| w == b"startxref").unwrap();
    let digits: String = pdf[at + 9..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| b as char)
        .collect();
    digits.parse().unwrap()
}

/// A hand-written PDF: `objects` are numbered from 1, the first is the catalog.
pub fn pdf_from_objects(objects: &[&[u8]]) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend_from_slice(body);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref_at = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

// ---------------------------------------------------------------- Office

pub fn core_xml(creator: &[u8]) -> Vec<u8> {
    let mut xml = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>"#.to_vec();
    xml.extend_from_slice(creator);
    xml.extend_from_slice(b"</dc:creator><cp:lastModifiedBy>");
    xml.extend_from_slice(creator);
    xml.extend_from_slice(br#"</cp:lastModifiedBy><dcterms:created xsi:type="dcterms:W3CDTF">2024-05-01T12:00:00Z</dcterms:created></cp:coreProperties>"#);
    xml
}

pub const DOCUMENT_XML: &[u8] = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>The evidence text.</w:t></w:r></w:p></w:body></w:document>"#;

/// Entry names and contents of a minimal docx with authorship in all three property parts
/// and an embedded photo with EXIF.
pub fn docx_entries() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("[Content_Types].xml", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="jpeg" ContentType="image/jpeg"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/><Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/></Types>"#.to_vec()),
        ("_rels/.rels", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/><Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties" Target="docProps/custom.xml"/></Relationships>"#.to_vec()),
        ("word/document.xml", DOCUMENT_XML.to_vec()),
        ("word/media/image1.jpeg", jpeg_with_metadata()),
        ("docProps/core.xml", core_xml(AUTHOR)),
        ("docProps/app.xml", with_prefix(br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>Microsoft Office Word</Application><Company>"#, &with_prefix(AUTHOR, b"</Company></Properties>"))),
        ("docProps/custom.xml", with_prefix(br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="Source"><vt:lpwstr>"#, &with_prefix(AUTHOR, b"</vt:lpwstr></property></Properties>"))),
    ]
}

/// Zips `entries` (deflated, with a real-looking timestamp unless `clean`).
pub fn zip(entries: &[(&str, Vec<u8>)], clean: bool) -> Vec<u8> {
    let time = if clean {
        DateTime::default()
    } else {
        DateTime::from_date_and_time(2024, 5, 1, 12, 0, 0).unwrap()
    };
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(time);
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// Every entry of a zip, decompressed, with its timestamp.
pub fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>, Option<DateTime>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
            (entry.name().unwrap().into_owned(), content, entry.last_modified())
        })
        .collect()
}

// ---------------------------------------------------------------- randomness

/// A small deterministic generator, so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}
