//! The fan-out: listeners subscribe to an [`EventSink`], and any engine code (the VM bridge,
//! the pipeline, the JIT, the cache) emits through a clone of it.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use super::clock::Clock;
use super::event::TraceEvent;

/// A consumer of the event stream (profiler, trace writer, TUI pane).
pub trait Listener {
    /// Receives one event stamped `at_ns` (nanoseconds on the sink's clock; never decreasing).
    fn on_event(&mut self, at_ns: u64, event: &TraceEvent<'_>);

    /// Whether this listener wants a [`TraceEvent::Instr`] before every instruction. Asking
    /// for them slows the VM down several times; answer once, at attachment.
    fn wants_instructions(&self) -> bool {
        false
    }
}

/// A listener shared between the sink and its owner, who reads it after the run.
pub type SharedListener = Rc<RefCell<dyn Listener>>;

struct Hub {
    clock: Rc<dyn Clock>,
    /// Borrowed while events are delivered (which is what makes emission non-re-entrant).
    listeners: RefCell<Vec<SharedListener>>,
    wants_instructions: Cell<bool>,
    last_ns: Cell<u64>,
}

/// A cheap, cloneable handle on one event stream. The default sink is disabled: emitting
/// through it costs one branch and nothing is recorded.
///
/// Emission is not re-entrant: an event emitted from inside a listener's `on_event` is
/// dropped. Timestamps come from the clock given to [`EventSink::new`] and are clamped so
/// that they never decrease; instruction events reuse the previous timestamp instead of
/// reading the clock.
#[derive(Clone, Default)]
pub struct EventSink {
    hub: Option<Rc<Hub>>,
}

impl fmt::Debug for EventSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listeners = self.hub.as_ref().and_then(|h| h.listeners.try_borrow().ok()).map(|l| l.len());
        f.debug_struct("EventSink").field("enabled", &self.hub.is_some()).field("listeners", &listeners).finish()
    }
}

impl EventSink {
    /// An enabled sink, stamping events with `clock`, with no listener yet.
    pub fn new(clock: Rc<dyn Clock>) -> EventSink {
        let hub = Hub {
            clock,
            listeners: RefCell::new(Vec::new()),
            wants_instructions: Cell::new(false),
            last_ns: Cell::new(0),
        };
        EventSink { hub: Some(Rc::new(hub)) }
    }

    /// A disabled sink (the same as `EventSink::default()`).
    pub fn disabled() -> EventSink {
        EventSink::default()
    }

    /// True for a sink made by [`EventSink::new`] (even before any listener is attached).
    pub fn is_enabled(&self) -> bool {
        self.hub.is_some()
    }

    /// True if at least one listener is attached.
    pub fn has_listeners(&self) -> bool {
        self.hub.as_ref().and_then(|h| h.listeners.try_borrow().ok()).is_some_and(|l| !l.is_empty())
    }

    /// Subscribes `listener`; returns false (and does nothing) on a disabled sink or from
    /// inside a listener.
    pub fn attach(&self, listener: SharedListener) -> bool {
        let Some(hub) = &self.hub else { return false };
        let Ok(mut listeners) = hub.listeners.try_borrow_mut() else { return false };
        let wants = listener.try_borrow().is_ok_and(|l| l.wants_instructions());
        hub.wants_instructions.set(hub.wants_instructions.get() || wants);
        listeners.push(listener);
        true
    }

    /// Unsubscribes every listener.
    pub fn detach_all(&self) {
        if let Some(hub) = &self.hub
            && let Ok(mut listeners) = hub.listeners.try_borrow_mut()
        {
            listeners.clear();
            hub.wants_instructions.set(false);
        }
    }

    /// True if some attached listener wants instruction events.
    #[inline]
    pub fn wants_instructions(&self) -> bool {
        self.hub.as_ref().is_some_and(|h| h.wants_instructions.get())
    }

    /// The current time on the sink's clock (0 for a disabled sink).
    pub fn now_ns(&self) -> u64 {
        self.hub.as_ref().map_or(0, |h| h.clock.now_ns().max(h.last_ns.get()))
    }

    /// Delivers `event` to every listener.
    #[inline]
    pub fn emit(&self, event: &TraceEvent<'_>) {
        if let Some(hub) = &self.hub {
            Self::deliver(hub, event);
        }
    }

    fn deliver(hub: &Hub, event: &TraceEvent<'_>) {
        let Ok(listeners) = hub.listeners.try_borrow_mut() else { return };
        if listeners.is_empty() {
            return;
        }
        let at_ns = if matches!(event, TraceEvent::Instr { .. }) {
            hub.last_ns.get()
        } else {
            let now = hub.clock.now_ns().max(hub.last_ns.get());
            hub.last_ns.set(now);
            now
        };
        for listener in listeners.iter() {
            if let Ok(mut listener) = listener.try_borrow_mut() {
                listener.on_event(at_ns, event);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::clock::FakeClock;

    #[derive(Default)]
    struct Recorder {
        seen: Vec<(u64, &'static str)>,
        instructions: bool,
    }

    impl Listener for Recorder {
        fn on_event(&mut self, at_ns: u64, event: &TraceEvent<'_>) {
            self.seen.push((at_ns, event.kind()));
        }
        fn wants_instructions(&self) -> bool {
            self.instructions
        }
    }

    #[test]
    fn fans_out_with_timestamps() {
        let clock = Rc::new(FakeClock::stepping(10));
        let sink = EventSink::new(clock);
        let a = Rc::new(RefCell::new(Recorder::default()));
        let b = Rc::new(RefCell::new(Recorder { instructions: true, ..Recorder::default() }));
        assert!(!sink.wants_instructions());
        assert!(sink.attach(a.clone()));
        assert!(!sink.wants_instructions());
        assert!(sink.attach(b.clone()));
        assert!(sink.wants_instructions());
        sink.emit(&TraceEvent::RunStart);
        sink.emit(&TraceEvent::Instr { func: 0, pc: 0, depth: 0, op: crate::bytecode::op::Op::Nop });
        sink.emit(&TraceEvent::Print { text: "x" });
        let expected = vec![(0, "run_start"), (0, "instr"), (10, "print")];
        assert_eq!(a.borrow().seen, expected);
        assert_eq!(b.borrow().seen, expected);
    }

    #[test]
    fn disabled_sink_records_nothing() {
        let sink = EventSink::disabled();
        let a = Rc::new(RefCell::new(Recorder::default()));
        assert!(!sink.attach(a.clone()));
        sink.emit(&TraceEvent::RunStart);
        assert!(a.borrow().seen.is_empty());
        assert!(!sink.is_enabled());
    }
}
