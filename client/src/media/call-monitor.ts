// Samples what we receive, for the tiles: audio levels (who speaks now, for
// the speaker view; the decoded audio's energy over each interval, from getStats) twice a second, and each participant's network quality
// from getStats every two seconds. The decisions are pure (speaker.ts,
// net-quality.ts); this only reads the receivers.

import type { Meeting } from '../meeting.ts';
import { levelBetween, SpeakerDetector, type AudioEnergy, type LevelSample } from './speaker.ts';
import { classifyNetwork, describeNetwork, figuresBetween, type InboundSample, type NetFigures, type NetLevel } from './net-quality.ts';

const LEVEL_INTERVAL_MS = 500;
const STATS_EVERY = 4; // level ticks

export interface NetQuality {
  level: NetLevel;
  text: string;
  figures?: NetFigures;
}

export class CallMonitor {
  private readonly detector = new SpeakerDetector();
  private readonly quality = new Map<string, NetQuality>();
  private readonly lastSamples = new Map<string, Map<string, InboundSample>>();
  /** Audio counters of each received microphone at the last tick, by consumer. */
  private readonly lastEnergy = new Map<string, AudioEnergy>();
  private timer?: ReturnType<typeof setInterval>;
  private tick = 0;
  private busy = false;

  constructor(private readonly meeting: Meeting) {}

  start(): void {
    this.timer ??= setInterval(() => void this.sample(), LEVEL_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get speaker(): string | undefined {
    return this.detector.speaker;
  }

  qualityOf(participantId: string): NetQuality {
    return this.quality.get(participantId) ?? { level: 'unknown', text: 'Network: not measured yet' };
  }

  private async sample(): Promise<void> {
    const media = this.meeting.media;
    if (!media || this.busy) return;
    this.busy = true;
    try {
      const before = this.detector.speaker;
      const levels: LevelSample[] = [];
      const energies = new Map<string, AudioEnergy>();
      for (const p of this.meeting.participants.values()) {
        const mic = p.tracks.mic;
        const receiver = mic && media.receiverOf(mic.consumerId);
        if (!mic || !receiver) continue;
        const report = await receiver.getStats().catch(() => undefined);
        report?.forEach((s: Record<string, unknown>) => {
          if (s['type'] === 'inbound-rtp' && typeof s['totalAudioEnergy'] === 'number')
            energies.set(mic.consumerId, { energy: s['totalAudioEnergy'], duration: Number(s['totalSamplesDuration'] ?? 0) });
        });
        const now = energies.get(mic.consumerId);
        const level = now && !p.micMuted ? levelBetween(this.lastEnergy.get(mic.consumerId), now) : 0;
        levels.push({ participantId: p.id, level });
      }
      this.lastEnergy.clear();
      for (const [k, v] of energies) this.lastEnergy.set(k, v);
      let changed = this.detector.step(levels, Date.now()) !== before;
      if (++this.tick % STATS_EVERY === 0) changed = (await this.measureNetwork()) || changed;
      if (changed) this.meeting.changed();
    } finally {
      this.busy = false;
    }
  }

  /** Per participant: loss, jitter and bitrate over its streams since the last run, and our round trip to the server. */
  private async measureNetwork(): Promise<boolean> {
    const media = this.meeting.media;
    if (!media) return false;
    let changed = false;
    const seen = new Set<string>();
    for (const p of this.meeting.participants.values()) {
      seen.add(p.id);
      const samples = new Map<string, InboundSample>();
      let rttMs: number | undefined;
      for (const t of Object.values(p.tracks)) {
        const receiver = media.receiverOf(t.consumerId);
        if (!receiver) continue;
        const report = await receiver.getStats().catch(() => undefined);
        report?.forEach((s: Record<string, unknown>) => {
          if (s['type'] === 'inbound-rtp')
            samples.set(t.consumerId, {
              at: Number(s['timestamp']),
              packetsReceived: Number(s['packetsReceived'] ?? 0),
              packetsLost: Number(s['packetsLost'] ?? 0),
              bytesReceived: Number(s['bytesReceived'] ?? 0),
              jitter: typeof s['jitter'] === 'number' ? s['jitter'] : undefined,
            });
          if (s['type'] === 'candidate-pair' && s['nominated'] && typeof s['currentRoundTripTime'] === 'number')
            rttMs = s['currentRoundTripTime'] * 1000;
        });
      }
      const figures = figuresBetween(this.lastSamples.get(p.id) ?? new Map(), samples, rttMs);
      this.lastSamples.set(p.id, samples);
      const level = classifyNetwork(figures);
      const next: NetQuality = { level, text: describeNetwork(level, figures), figures };
      if (this.quality.get(p.id)?.text !== next.text) changed = true;
      this.quality.set(p.id, next);
    }
    for (const id of [...this.quality.keys()])
      if (!seen.has(id)) {
        this.quality.delete(id);
        this.lastSamples.delete(id);
      }
    return changed;
  }
}
