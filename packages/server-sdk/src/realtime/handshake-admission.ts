/** Why an upgrade was not admitted to the handshake (docs/protocol.md §4.1). */
export type HandshakeRefusal = 'source_full' | 'server_full';

/** One admitted handshake: it holds a slot of its source until released. */
export interface HandshakeSlot {
  /** The source the slot is counted against. */
  readonly source: string;
  /**
   * Marks the handshake as one that may be cut short for a fairer share (it has not sent its
   * hello yet), with what cutting it short does; `undefined` makes it safe again.
   */
  setEvictable(evict: (() => void) | undefined): void;
  /** Frees the slot (welcome, refusal or close); idempotent. */
  release(): void;
}

/** Limits of {@link createHandshakeAdmission}. */
export interface HandshakeAdmissionLimits {
  /** Pending handshakes on this instance, all sources together. */
  readonly maxPending: number;
  /** Pending handshakes of one source. */
  readonly maxPendingPerSource: number;
}

interface Slot extends HandshakeSlot {
  evict: (() => void) | undefined;
}

/**
 * Admission of sockets between their upgrade and their welcome, so that one source cannot keep
 * everyone else out: each source may hold at most `maxPendingPerSource` pending handshakes, all
 * of them at most `maxPending`, and when the server is full a source holding fewer than the
 * largest holder takes that holder's oldest handshake that has not sent its hello yet.
 *
 * @param limits - the global and per-source caps.
 * @returns `admit`, which answers a slot or why not, and `pending`, the current total.
 * @example
 * ```ts
 * const admission = createHandshakeAdmission({ maxPending: 1_000, maxPendingPerSource: 32 });
 * const slot = admission.admit('203.0.113.7');
 * if (typeof slot === 'string') refuse(slot);
 * ```
 */
export function createHandshakeAdmission(limits: HandshakeAdmissionLimits) {
  // Sets keep insertion order, so the first evictable entry of a source is its oldest.
  const bySource = new Map<string, Set<Slot>>();
  let pending = 0;

  // The source holding the most pending handshakes, if one of them can be cut short.
  const largestEvictable = (): { count: number; slot: Slot } | undefined => {
    let best: { count: number; slot: Slot } | undefined;
    for (const slots of bySource.values()) {
      if (best !== undefined && slots.size <= best.count) continue;
      for (const slot of slots) {
        if (slot.evict === undefined) continue;
        best = { count: slots.size, slot };
        break;
      }
    }
    return best;
  };

  return {
    /** Pending handshakes, all sources together. */
    get pending(): number {
      return pending;
    },
    /**
     * Admits one more handshake from `source`, evicting another source's if that is fair.
     *
     * @param source - the key of the peer (its address, unless configured otherwise).
     * @returns the slot, or why there is none.
     */
    admit(source: string): HandshakeSlot | HandshakeRefusal {
      const held = bySource.get(source)?.size ?? 0;
      if (held >= limits.maxPendingPerSource) return 'source_full';
      if (pending >= limits.maxPending) {
        const victim = largestEvictable();
        if (victim === undefined || victim.count <= held) return 'server_full';
        const evict = victim.slot.evict;
        victim.slot.release();
        evict?.();
      }
      let slots = bySource.get(source);
      if (slots === undefined) {
        slots = new Set();
        bySource.set(source, slots);
      }
      const own = slots;
      let released = false;
      const slot: Slot = {
        source,
        evict: undefined,
        setEvictable(evict) {
          slot.evict = released ? undefined : evict;
        },
        release() {
          if (released) return;
          released = true;
          slot.evict = undefined;
          own.delete(slot);
          pending -= 1;
          if (own.size === 0 && bySource.get(source) === own) bySource.delete(source);
        },
      };
      own.add(slot);
      pending += 1;
      return slot;
    },
  };
}

/** The admission {@link createHandshakeAdmission} returns. */
export type HandshakeAdmission = ReturnType<typeof createHandshakeAdmission>;
