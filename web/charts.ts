// Charts drawn on the server as SVG (no client JavaScript): horizontal bars, one per row of the table shown with
// the chart, so the table is the chart's full text alternative and the SVG's own <title>/<desc> says what it shows.

/** One bar: its label and value; a suppressed value (null) gets no bar and its marker as text. */
export interface Bar { label: string; value: number | null; text: string }

/** The geometry the chart partial draws (viewBox units). */
export interface BarChart {
  id: string;
  title: string;
  desc: string;
  width: number;
  height: number;
  bars: { label: string; text: string; y: number; textY: number; width: number; valueX: number }[];
  labelWidth: number;
  barX: number;
}

const WIDTH = 640;
const LABEL_WIDTH = 230;
const ROW = 26;
const BAR = 18;
const MAX_LABEL = 32;

/**
 * Lays out a bar chart: labels on the left (cut to 32 characters; the table has them whole), bars scaled to the
 * largest value, the value written after each bar. `desc` lists every bar in words for screen readers.
 */
export function barChart(id: string, title: string, bars: readonly Bar[]): BarChart {
  const max = Math.max(1, ...bars.map((b) => b.value ?? 0));
  const room = WIDTH - LABEL_WIDTH - 80;
  return {
    id, title, width: WIDTH, height: Math.max(ROW, bars.length * ROW) + 4, labelWidth: LABEL_WIDTH - 8, barX: LABEL_WIDTH,
    desc: bars.map((b) => `${b.label}: ${b.text}`).join('; '),
    bars: bars.map((b, i) => {
      const width = b.value === null ? 0 : Math.round((room * b.value) / max);
      return {
        label: b.label.length > MAX_LABEL ? `${b.label.slice(0, MAX_LABEL - 1)}…` : b.label, text: b.text,
        y: i * ROW + 4, textY: i * ROW + 4 + BAR - 4, width, valueX: LABEL_WIDTH + width + 6,
      };
    }),
  };
}
