// Who speaks now, from received audio levels (0..1, the audio-level scale of
// WebRTC stats). Pure: the call monitor samples, this decides, with
// hysteresis so the speaker view does not flicker.

export interface LevelSample {
  participantId: string;
  level: number;
}

/** Quieter than this is silence (about -26 dBov on the audio-level scale). */
export const SPEAKING_LEVEL = 0.05;
/** A speaker stays the speaker this long after going quiet. */
export const HOLD_MS = 2500;
/** Someone else takes over only when this much louder than a speaker still talking. */
const TAKEOVER_RATIO = 2;

/** Cumulative audio counters of one inbound stream (inbound-rtp totalAudioEnergy, totalSamplesDuration). */
export interface AudioEnergy {
  energy: number;
  duration: number;
}

/**
 * The level over the interval between two samples: the root of the mean
 * energy. Unlike an instantaneous level it catches short sounds between
 * samples (a word, a beep).
 */
export function levelBetween(prev: AudioEnergy | undefined, cur: AudioEnergy): number {
  if (!prev) return 0;
  const d = cur.duration - prev.duration;
  const e = cur.energy - prev.energy;
  return d > 0 && e > 0 ? Math.min(1, Math.sqrt(e / d)) : 0;
}

export class SpeakerDetector {
  private current?: string;
  private heardAt = 0;

  get speaker(): string | undefined {
    return this.current;
  }

  step(samples: readonly LevelSample[], now: number): string | undefined {
    const loud = samples.filter((s) => s.level >= SPEAKING_LEVEL).sort((a, b) => b.level - a.level);
    const current = loud.find((s) => s.participantId === this.current);
    const loudest = loud[0];
    if (current) this.heardAt = now;
    if (loudest && loudest.participantId !== this.current) {
      const takesOver = !current || loudest.level >= current.level * TAKEOVER_RATIO;
      if (takesOver) {
        this.current = loudest.participantId;
        this.heardAt = now;
      }
    }
    if (this.current !== undefined && !samples.some((s) => s.participantId === this.current)) this.current = undefined;
    else if (this.current !== undefined && now - this.heardAt > HOLD_MS) this.current = undefined;
    return this.current;
  }
}
