// Package pickle reads Python pickle streams (protocols 0 to 5) into plain Go
// values without executing anything.
//
// Python's own unpickler imports modules and calls functions named by the
// stream, so loading an untrusted pickle runs arbitrary code. Parse instead
// interprets the opcodes as data: a class or function reference
// (GLOBAL, STACK_GLOBAL, INST) becomes a *Global, and calling it (REDUCE,
// NEWOBJ, NEWOBJ_EX, OBJ, INST) or restoring its state (BUILD) becomes an
// *Object that records the callable's name, its arguments and its state.
// What such an object means is up to the caller; nothing is imported, called or
// looked up. References are accepted only for names on the caller's allow-list
// (Options.Allow); any other name stops the parse with a *ForbiddenError.
//
// A few standard-library helpers that pickles use to spell plain data are
// interpreted directly: _codecs.encode(text, "latin1") (how protocols 0-2
// write bytes), builtins.bytes, bytearray, set and frozenset, and
// copyreg._reconstructor / copyreg.__newobj__ (how protocols 0-2 create class
// instances).
//
// Every allocation is bounded by the bytes actually read and by the limits in
// Options: lengths in the stream are never trusted for up-front allocation, the
// number of values, container lengths, payload bytes and nesting depth are
// capped, and malformed input yields an error, never a panic.
package pickle
