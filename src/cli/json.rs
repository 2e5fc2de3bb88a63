//! `--json` output: a value as pretty-printed JSON, byte for byte what
//! `serde_json::to_writer_pretty` writes, but with strings escaped eight bytes at a time
//! by the library's escaper instead of serde_json's byte-at-a-time loop. A Thought is
//! mostly strings (every call record keeps its exact messages and answer), so on a long
//! run this is most of the cost of printing it.

// The library's `json` helpers are private to it; the binary compiles its own copy of
// the file and uses only the escaper.
#[allow(dead_code)]
#[path = "../json.rs"]
mod escape;

use serde::Serialize;
use serde::ser::{self, Error as _, Impossible};
use serde_json::Error;

/// `value` as `serde_json::to_writer_pretty(out, value)` writes it: two-space indents,
/// `": "` after a key, `[]` and `{}` for empty arrays and objects.
pub(crate) fn to_writer_pretty<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> Result<(), Error> {
    value.serialize(&mut Pretty { out, indent: 0 })
}

/// The serializer: the buffer and the current depth.
struct Pretty<'a> {
    out: &'a mut Vec<u8>,
    indent: usize,
}

impl Pretty<'_> {
    /// Open an array or object with `open`.
    fn begin(&mut self, open: u8) -> Compound<'_, Self> {
        self.out.push(open);
        self.indent += 1;
        Compound { ser: self, first: true }
    }

    /// A scalar as `serde_json` writes it (the same compact or pretty).
    fn scalar<T: Serialize>(&mut self, value: T) -> Result<(), Error> {
        serde_json::to_writer(&mut *self.out, &value)
    }

    /// A line break and the indent of the current depth.
    fn newline(&mut self) {
        /// A line break and the indents of the first 32 depths.
        const LINE: [u8; 65] = {
            let mut line = [b' '; 65];
            line[0] = b'\n';
            line
        };
        match LINE.get(..1 + 2 * self.indent) {
            Some(line) => self.out.extend_from_slice(line),
            None => {
                self.out.extend_from_slice(&LINE);
                for _ in LINE.len() / 2..self.indent {
                    self.out.extend_from_slice(b"  ");
                }
            }
        }
    }
}

/// An array or object being written.
struct Compound<'b, S> {
    ser: &'b mut S,
    first: bool,
}

impl<'a> Compound<'_, Pretty<'a>> {
    /// Before each element or member: a comma after the first, then a new line.
    fn element(&mut self) {
        if !self.first {
            self.ser.out.push(b',');
        }
        self.first = false;
        self.ser.newline();
    }

    /// A member's key (a struct's field name) and the `": "` after it.
    fn key(&mut self, key: &str) {
        self.element();
        if key.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            // Nothing to escape, as in every field name but odd renames.
            let out = &mut *self.ser.out;
            out.push(b'"');
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\": ");
        } else {
            escape::push_str(self.ser.out, key);
            self.ser.out.extend_from_slice(b": ");
        }
    }

    /// Close with `close`, on a line of its own unless nothing was written.
    fn end(self, close: u8) {
        self.ser.indent -= 1;
        if !self.first {
            self.ser.newline();
        }
        self.ser.out.push(close);
    }
}

impl<'b, 'a> ser::Serializer for &'b mut Pretty<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'b, Pretty<'a>>;
    type SerializeTuple = Compound<'b, Pretty<'a>>;
    type SerializeTupleStruct = Compound<'b, Pretty<'a>>;
    type SerializeTupleVariant = Compound<'b, Pretty<'a>>;
    type SerializeMap = Compound<'b, Pretty<'a>>;
    type SerializeStruct = Compound<'b, Pretty<'a>>;
    type SerializeStructVariant = Compound<'b, Pretty<'a>>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        escape::push_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        SerializeSeq::end(seq)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let mut object = self.begin(b'{');
        object.key(variant);
        value.serialize(&mut *object.ser)?;
        object.end(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Ok(self.begin(b'['))
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        // `{ "variant": [` — the object is closed in `end`.
        let mut object = self.begin(b'{');
        object.key(variant);
        let Compound { ser, .. } = object;
        Ok(ser.begin(b'['))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Ok(self.begin(b'{'))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Ok(self.begin(b'{'))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        // `{ "variant": {` — the outer object is closed in `end`.
        let mut object = self.begin(b'{');
        object.key(variant);
        let Compound { ser, .. } = object;
        Ok(ser.begin(b'{'))
    }
}

/// Close the object a tuple or struct variant opened around its value.
fn end_variant(ser: &mut Pretty<'_>) {
    Compound { ser, first: false }.end(b'}');
}

impl ser::SerializeSeq for Compound<'_, Pretty<'_>> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element();
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self, b']');
        Ok(())
    }
}

impl ser::SerializeTuple for Compound<'_, Pretty<'_>> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_, Pretty<'_>> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_, Pretty<'_>> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        let ser = &mut *self.ser;
        Compound { ser: &mut *ser, first: self.first }.end(b']');
        end_variant(ser);
        Ok(())
    }
}

impl ser::SerializeMap for Compound<'_, Pretty<'_>> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.element();
        key.serialize(Key { ser: &mut *self.ser })?;
        self.ser.out.extend_from_slice(b": ");
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self, b'}');
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_, Pretty<'_>> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.key(key);
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self, b'}');
        Ok(())
    }
}

impl ser::SerializeStructVariant for Compound<'_, Pretty<'_>> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), Error> {
        let ser = &mut *self.ser;
        Compound { ser: &mut *ser, first: self.first }.end(b'}');
        end_variant(ser);
        Ok(())
    }
}

/// A map key, as `serde_json` writes one: strings as they are, and numbers and
/// booleans quoted; anything else is an error.
struct Key<'b, 'a> {
    ser: &'b mut Pretty<'a>,
}

impl Key<'_, '_> {
    /// A number or boolean key: its JSON text, quoted.
    fn quoted<T: Serialize>(self, value: T) -> Result<(), Error> {
        self.ser.out.push(b'"');
        self.ser.scalar(value)?;
        self.ser.out.push(b'"');
        Ok(())
    }
}

/// The error `serde_json` gives for a key that is not a string.
fn key_must_be_a_string() -> Error {
    Error::custom("key must be a string")
}

impl ser::Serializer for Key<'_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.ser.serialize_str(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.ser.serialize_char(v)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.ser.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.quoted(v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.quoted(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.quoted(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.quoted(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.quoted(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.quoted(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.quoted(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.quoted(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.quoted(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.quoted(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.quoted(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(Error::custom("float key must be finite (got NaN or +/-inf)"));
        }
        self.quoted(v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(Error::custom("float key must be finite (got NaN or +/-inf)"));
        }
        self.quoted(v)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use redraft::model::scripted::{ScriptedModel, reply};
    use redraft::model::{Request, ResponseFormat, Sampling};
    use serde_json::{Value, json};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn ours<T: Serialize + ?Sized>(value: &T) -> String {
        let mut out = Vec::new();
        to_writer_pretty(&mut out, value).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn theirs<T: Serialize + ?Sized>(value: &T) -> String {
        serde_json::to_string_pretty(value).unwrap()
    }

    /// A Thought from a real run: two critics, validators, revisions whose texts and
    /// verdicts hold quotes, backslashes, control characters and non-ASCII.
    fn real_thought(odd: &str) -> redraft::Thought {
        let odd = odd.to_owned();
        let input = format!("Our lamp \"is\" good.\r\n{{}} {odd}");
        let model = Arc::new(ScriptedModel::new(move |req: &Request, n| {
            Ok(match req.format {
                ResponseFormat::Text => reply(&format!("Revision {n}: \"{odd}\"\t\\ é 🦀.")),
                _ => reply(
                    &json!({"needs_improvement": n < 6, "confidence": 0.8125,
                        "feedback": format!("Say \"why\"\n{odd}"),
                        "suggestions": ["a\u{1}b", odd.clone()]})
                    .to_string(),
                ),
            })
        }));
        let registry = redraft::critic::Registry::builtin();
        let mut builder = redraft::Engine::builder(model).max_iterations(3);
        for name in ["reflexion", "self_refine"] {
            builder = builder.critic(registry.build(name, None, Sampling::default()).unwrap());
        }
        let engine = builder.build().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(engine.improve(input))
    }

    #[test]
    fn a_real_thought_is_written_as_serde_json_writes_it() {
        let thought = real_thought("plain");
        assert!(thought.iterations.len() > 1, "the run revised");
        assert_eq!(ours(&thought), theirs(&thought));
    }

    #[test]
    fn every_shape_is_written_as_serde_json_writes_it() {
        #[derive(Serialize)]
        enum E {
            Unit,
            Newtype(u8),
            Tuple(i32, String),
            EmptyTuple(),
            Struct { a: f64, b: Option<f32> },
            EmptyStruct {},
        }
        #[derive(Serialize)]
        struct Unit;
        #[derive(Serialize)]
        struct Newtype(String);
        #[derive(Serialize)]
        struct Tuple(u8, char);
        #[derive(Serialize)]
        struct Empty {}
        let ints: BTreeMap<i64, bool> = [(-3, true), (7, false)].into();
        let bools: BTreeMap<bool, ()> = [(false, ()), (true, ())].into();
        let chars: BTreeMap<char, Unit> = [('"', Unit), ('x', Unit)].into();
        let nested: Vec<Vec<Value>> = vec![vec![], vec![json!({})], vec![json!([[]])]];
        assert_eq!(
            ours(&(E::Unit, E::Newtype(1), E::Tuple(-2, "t".into()), E::EmptyTuple())),
            theirs(&(E::Unit, E::Newtype(1), E::Tuple(-2, "t".into()), E::EmptyTuple()))
        );
        let structs = (E::Struct { a: 1.5, b: Some(0.1) }, E::Struct { a: f64::NAN, b: None });
        assert_eq!(ours(&structs), theirs(&structs));
        assert_eq!(ours(&E::EmptyStruct {}), theirs(&E::EmptyStruct {}));
        let others = (Unit, Newtype("n\n".into()), Tuple(255, '\u{0}'), Empty {}, (), 'é');
        assert_eq!(ours(&others), theirs(&others));
        let maps = (ints, bools, chars);
        assert_eq!(ours(&maps), theirs(&maps));
        assert_eq!(ours(&nested), theirs(&nested));
        let bytes = serde_bytes_like(b"\x00\xff");
        assert_eq!(ours(&bytes), theirs(&bytes));
        let numbers = (u128::MAX, i128::MIN, f32::INFINITY, 1e300_f64, -0.0_f64, u64::MAX);
        assert_eq!(ours(&numbers), theirs(&numbers));
        let deep = (0..40).fold(json!("x"), |v, i| json!({"k": [v, i]}));
        assert_eq!(ours(&deep), theirs(&deep), "deeper than the indents kept");
        let floats: BTreeMap<String, f64> = [("1.5".to_owned(), 1.5)].into();
        assert_eq!(ours(&floats), theirs(&floats));
    }

    /// Bytes serialised as bytes (not as a sequence of numbers).
    fn serde_bytes_like(bytes: &'static [u8]) -> impl Serialize {
        struct Bytes(&'static [u8]);
        impl Serialize for Bytes {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        Bytes(bytes)
    }

    #[test]
    fn keys_that_are_not_strings_fail_as_in_serde_json() {
        let map: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        let mut out = Vec::new();
        let ours = to_writer_pretty(&mut out, &map).unwrap_err().to_string();
        let theirs = serde_json::to_string_pretty(&map).unwrap_err().to_string();
        assert_eq!(ours, theirs);
        let map: BTreeMap<String, BTreeMap<Option<u8>, u8>> =
            [("a".into(), [(None, 1)].into())].into();
        assert!(to_writer_pretty(&mut Vec::new(), &map).is_err());
        assert!(serde_json::to_string_pretty(&map).is_err());
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_value_is_written_as_serde_json_writes_it(value in any_json()) {
            prop_assert_eq!(ours(&value), theirs(&value));
        }

        #[test]
        fn a_thought_with_any_strings_is_written_as_serde_json_writes_it(
            input in any::<String>(),
            text in any::<String>(),
        ) {
            let mut thought = redraft::Thought::new(
                redraft::thought::Mode::Improve, input, Default::default());
            thought.final_text = Some(text);
            prop_assert_eq!(ours(&thought), theirs(&thought));
        }
    }

    #[test]
    fn a_real_run_with_odd_strings_is_written_as_serde_json_writes_it() {
        for odd in ["", "\u{7f}\u{1f}\u{8}\u{c}", "⟦\"\\\"⟧", "12345678\"12345678\\"] {
            let thought = real_thought(odd);
            assert_eq!(ours(&thought), theirs(&thought), "{odd:?}");
        }
    }
}
