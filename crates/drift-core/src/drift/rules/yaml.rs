//! What a YAML rules file costs to read, found out before it is read.
//!
//! serde_yaml_ng (0.10) has two blind spots for hostile YAML:
//!
//! - It expands an alias every time the alias is read, and only limits how
//!   many aliases are followed (100 per event in the file), not what they
//!   expand to: a list of short strings aliased a few thousand times is a
//!   150 KB file that took 3.1 GB and 16 s to load.
//! - Its parser (libyaml, via unsafe-libyaml) takes time quadratic in how
//!   deeply flow collections nest (`[[[[...`; serde-yaml-ng issue 16):
//!   200 KB took 30 s, a 1 MB file was still being parsed after two
//!   minutes. Its own recursion limit (128) only applies after the whole
//!   file has been parsed.
//!
//! [`check`] runs the same parser over the file once, event by event,
//! without building anything, and refuses the file as soon as it nests
//! deeper than serde_yaml_ng would accept anyway, or its aliases would
//! expand it past a budget. Each node's expanded size is counted exactly
//! (an alias costs what its anchor's node costs), so a file without
//! aliases is never refused and anchors that share a list stay usable.
//! The pass stops at the first nesting level too many, so the parser's
//! quadratic cost is paid on at most that depth.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::mem::MaybeUninit;

/// serde_yaml_ng refuses documents nested deeper than this (its
/// `remaining_depth`); nothing deeper can be a rules file.
pub(super) const MAX_DEPTH: usize = 128;

/// About what a node costs once read: a `String` or an enum in a `Vec`.
/// A scalar costs its length besides.
const NODE_COST: usize = 32;

/// Why a YAML file is refused before it is read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The aliases expand the document past the budget.
    Expansion,
    /// Nested deeper than [`MAX_DEPTH`], at this line and column.
    TooDeep(usize, usize),
    /// An alias inside the node its anchor names: an infinite document.
    Cycle(usize, usize),
    /// An anchor name given to a second node. YAML allows it, but
    /// serde_yaml_ng (0.10) then resolves aliases to the wrong node, so
    /// the size counted here would not be the size read.
    AnchorReused(usize, usize),
    /// A second document in the stream (serde_yaml_ng refuses it too, but
    /// only after parsing it whole).
    SecondDocument(usize, usize),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Expansion => write!(
                f,
                "its anchors and aliases expand to more than {} times the file's size; write the repeated lists out",
                super::YAML_EXPANSION_FACTOR
            ),
            Refusal::TooDeep(line, column) => write!(
                f,
                "line {line}, column {column}: nested more than {MAX_DEPTH} levels deep"
            ),
            Refusal::Cycle(line, column) => write!(
                f,
                "line {line}, column {column}: an alias inside the node its anchor names would repeat forever"
            ),
            Refusal::AnchorReused(line, column) => write!(
                f,
                "line {line}, column {column}: an anchor name is used a second time; give each anchor its own name"
            ),
            Refusal::SecondDocument(line, column) => write!(
                f,
                "line {line}, column {column}: a second YAML document (`---`); a rules file is one document"
            ),
        }
    }
}

/// Walks the events of `text` and refuses it if reading it would cost more
/// than `budget` (bytes of expanded document, see [`NODE_COST`]) or nest
/// deeper than [`MAX_DEPTH`]. A syntax error ends the walk without a
/// refusal: serde_yaml_ng stops at the same place, and says it better.
pub(super) fn check(text: &str, budget: usize) -> Result<(), Refusal> {
    let mut parser = Parser::new(text);
    // Open collections: the anchor each one defines and its expanded size so far.
    let mut open: Vec<(Option<Box<[u8]>>, usize)> = Vec::new();
    let mut sizes: BTreeMap<Box<[u8]>, usize> = BTreeMap::new();
    let mut total = 0usize;
    let mut documents = 0usize;
    while let Some(event) = parser.next() {
        let (line, column) = event.position;
        let cost = match event.kind {
            Kind::StreamEnd => return Ok(()),
            Kind::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(Refusal::SecondDocument(line, column));
                }
                continue;
            }
            Kind::Other => continue,
            Kind::Alias(name) => {
                if open
                    .iter()
                    .any(|(anchor, _)| anchor.as_deref() == Some(&*name))
                {
                    return Err(Refusal::Cycle(line, column));
                }
                // An unknown anchor is serde_yaml_ng's error to report.
                sizes.get(&name).copied().unwrap_or(NODE_COST)
            }
            Kind::Scalar(anchor, length) => {
                let cost = NODE_COST.saturating_add(length);
                if let Some(name) = anchor {
                    if is_defined(&sizes, &open, &name) {
                        return Err(Refusal::AnchorReused(line, column));
                    }
                    sizes.insert(name, cost);
                }
                cost
            }
            Kind::Start(anchor) => {
                if anchor
                    .as_ref()
                    .is_some_and(|name| is_defined(&sizes, &open, name))
                {
                    return Err(Refusal::AnchorReused(line, column));
                }
                if open.len() == MAX_DEPTH {
                    return Err(Refusal::TooDeep(line, column));
                }
                total = total.saturating_add(NODE_COST);
                if total > budget {
                    return Err(Refusal::Expansion);
                }
                open.push((anchor, NODE_COST));
                continue;
            }
            Kind::End => {
                // The parser pairs starts and ends; an end without a start
                // would be its bug, and costs nothing here.
                let Some((anchor, size)) = open.pop() else {
                    continue;
                };
                if let Some(name) = anchor {
                    sizes.insert(name, size);
                }
                if let Some((_, parent)) = open.last_mut() {
                    *parent = parent.saturating_add(size);
                }
                continue;
            }
        };
        // Scalars and aliases: counted in the total once, where they
        // appear, and in the size of the collection around them.
        total = total.saturating_add(cost);
        if total > budget {
            return Err(Refusal::Expansion);
        }
        if let Some((_, size)) = open.last_mut() {
            *size = size.saturating_add(cost);
        }
    }
    Ok(())
}

/// Whether an anchor name is taken, by a finished node or an open one.
fn is_defined(
    sizes: &BTreeMap<Box<[u8]>, usize>,
    open: &[(Option<Box<[u8]>>, usize)],
    name: &[u8],
) -> bool {
    sizes.contains_key(name) || open.iter().any(|(a, _)| a.as_deref() == Some(name))
}

/// One parser event, reduced to what [`check`] needs.
struct Event {
    kind: Kind,
    /// 1-based line and column where it starts.
    position: (usize, usize),
}

enum Kind {
    StreamEnd,
    DocumentStart,
    /// An alias, by anchor name.
    Alias(Box<[u8]>),
    /// A scalar: the anchor it defines, if any, and its length in bytes.
    Scalar(Option<Box<[u8]>>, usize),
    /// A sequence or mapping starts, defining an anchor or not.
    Start(Option<Box<[u8]>>),
    /// A sequence or mapping ends.
    End,
    /// Stream start, document end.
    Other,
}

/// libyaml's event parser over a string.
///
/// Safety: libyaml keeps a pointer to the parser inside the parser (its read
/// handler's data) and one to the input, so the parser lives in a `Box` that
/// never moves, and the input is borrowed for the parser's whole life. The
/// parser is initialised before any other use and deleted exactly once, in
/// `drop`; each event is deleted right after it is read, and nothing read
/// from it outlives that.
struct Parser<'input> {
    sys: Box<MaybeUninit<unsafe_libyaml::yaml_parser_t>>,
    /// After an error or the end of the stream, nothing more is read.
    done: bool,
    _input: std::marker::PhantomData<&'input str>,
}

impl<'input> Parser<'input> {
    fn new(input: &'input str) -> Parser<'input> {
        let mut sys = Box::new(MaybeUninit::<unsafe_libyaml::yaml_parser_t>::uninit());
        let parser = sys.as_mut_ptr();
        // SAFETY: see the type's comment. The port's initialise zeroes the
        // structure first and cannot fail (it allocates with Rust's
        // allocator, which aborts when memory runs out); if it ever did,
        // nothing is read and delete still gets a structure it accepts.
        let done = unsafe { unsafe_libyaml::yaml_parser_initialize(parser) }.fail;
        if !done {
            // SAFETY: the parser is initialised; `input` outlives it.
            unsafe {
                unsafe_libyaml::yaml_parser_set_encoding(
                    parser,
                    unsafe_libyaml::YAML_UTF8_ENCODING,
                );
                unsafe_libyaml::yaml_parser_set_input_string(
                    parser,
                    input.as_ptr(),
                    input.len() as u64,
                );
            }
        }
        Parser {
            sys,
            done,
            _input: std::marker::PhantomData,
        }
    }

    /// The next event; `None` after the end of the stream or an error.
    fn next(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        let parser = self.sys.as_mut_ptr();
        let mut event = MaybeUninit::<unsafe_libyaml::yaml_event_t>::uninit();
        let event = event.as_mut_ptr();
        // SAFETY: the parser is initialised (`done` is false); the event is
        // written by a successful `yaml_parser_parse` before it is read, and
        // deleted before it goes out of scope.
        unsafe {
            if unsafe_libyaml::yaml_parser_parse(parser, event).fail {
                self.done = true;
                return None;
            }
            let mark = (*event).start_mark;
            let kind = match (*event).type_ {
                unsafe_libyaml::YAML_STREAM_END_EVENT => {
                    self.done = true;
                    Kind::StreamEnd
                }
                unsafe_libyaml::YAML_DOCUMENT_START_EVENT => Kind::DocumentStart,
                unsafe_libyaml::YAML_ALIAS_EVENT => {
                    Kind::Alias(name((*event).data.alias.anchor).unwrap_or_default())
                }
                unsafe_libyaml::YAML_SCALAR_EVENT => Kind::Scalar(
                    name((*event).data.scalar.anchor),
                    usize::try_from((*event).data.scalar.length).unwrap_or(usize::MAX),
                ),
                unsafe_libyaml::YAML_SEQUENCE_START_EVENT => {
                    Kind::Start(name((*event).data.sequence_start.anchor))
                }
                unsafe_libyaml::YAML_MAPPING_START_EVENT => {
                    Kind::Start(name((*event).data.mapping_start.anchor))
                }
                unsafe_libyaml::YAML_SEQUENCE_END_EVENT
                | unsafe_libyaml::YAML_MAPPING_END_EVENT => Kind::End,
                _ => Kind::Other,
            };
            unsafe_libyaml::yaml_event_delete(event);
            let position = |n: u64| usize::try_from(n).unwrap_or(usize::MAX).saturating_add(1);
            Some(Event {
                kind,
                position: (position(mark.line), position(mark.column)),
            })
        }
    }
}

/// An anchor name out of libyaml's NUL-terminated string, copied.
///
/// # Safety
/// `anchor` is null or points to a NUL-terminated string that stays valid
/// for the call.
unsafe fn name(anchor: *const u8) -> Option<Box<[u8]>> {
    if anchor.is_null() {
        return None;
    }
    // SAFETY: as the function's contract says.
    let name = unsafe { CStr::from_ptr(anchor.cast()) };
    Some(Box::from(name.to_bytes()))
}

impl Drop for Parser<'_> {
    fn drop(&mut self) {
        // SAFETY: `yaml_parser_initialize` ran in `new`; this is the only
        // delete.
        unsafe { unsafe_libyaml::yaml_parser_delete(self.sys.as_mut_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_counted_through_aliases_exactly() {
        // Two scalars of 3 bytes in the anchored list, aliased twice: the
        // list is 32 + 2 * 35 = 102, the document 32 + 3 * (32 + 1) + ...
        let yaml = "a: &l [abc, def]\nb: *l\nc: *l\n";
        let list = NODE_COST + 2 * (NODE_COST + 3);
        let keys = 3 * (NODE_COST + 1);
        let exact = NODE_COST + keys + 3 * list;
        assert_eq!(check(yaml, exact), Ok(()));
        assert_eq!(check(yaml, exact - 1), Err(Refusal::Expansion));
    }

    #[test]
    fn refusals_say_where() {
        assert_eq!(check("a: &x [*x]\n", 1 << 20), Err(Refusal::Cycle(1, 8)));
        assert_eq!(
            check("a: &x 1\nb: &x [1]\n", 1 << 20),
            Err(Refusal::AnchorReused(2, 4))
        );
        assert_eq!(
            check("a: 1\n---\nb: 2\n", 1 << 20),
            Err(Refusal::SecondDocument(2, 1))
        );
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(
            check(&deep, 1 << 20),
            Err(Refusal::TooDeep(1, MAX_DEPTH + 1))
        );
        let fits = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(check(&fits, 1 << 20), Ok(()));
        // A syntax error is serde_yaml_ng's to report.
        assert_eq!(check("a: [1, 2\n", 1 << 20), Ok(()));
    }
}
