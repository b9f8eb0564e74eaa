package benchkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// WriteHTML writes rep as a self-contained page: no external resource of
// any kind; the charts are SVG drawn by the inline script from the
// report's JSON, embedded in the page. The text report is included too,
// so the page says everything even without JavaScript.
func (r *Report) WriteHTML(w io.Writer) error {
	data, err := json.Marshal(r) // escapes <, > and &: safe inside <script>
	if err != nil {
		return err
	}
	var text bytes.Buffer
	r.WriteText(&text)
	title := "weir bench"
	var paths []string
	for _, t := range r.Targets {
		paths = append(paths, t.Path)
	}
	if len(paths) > 0 {
		title += ": " + strings.Join(paths, " vs ")
	}
	var buf bytes.Buffer
	err = htmlReport.Execute(&buf, map[string]any{
		"Title": title,
		"R":     r,
		"Text":  text.String(),
		"Data":  template.JS(data),
		"Style": template.CSS(htmlStyle),
		"JS":    template.JS(htmlScript),
	})
	if err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

var htmlReport = template.Must(template.New("report").Funcs(template.FuncMap{
	"num": func(v any) string {
		switch x := v.(type) {
		case int:
			return num(float64(x))
		case int64:
			return num(float64(x))
		case float64:
			return num(x)
		}
		return fmt.Sprint(v)
	},
	"dur": dur,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>{{.Style}}</style>
</head>
<body data-charts-rendered="0">
<h1>{{.Title}}</h1>
<p class="meta">{{.R.Time}} · {{.R.Machine.OS}}/{{.R.Machine.Arch}}, {{.R.Machine.CPUs}} CPUs{{if .R.Machine.CPUModel}} ({{.R.Machine.CPUModel}}){{end}} · {{.R.Machine.Go}}</p>
{{if .R.Error}}<p class="error">{{.R.Error}}</p>{{end}}
<p class="meta">Input: {{num .R.Input.Records}} records from {{len .R.Input.Files}} files. {{.R.Input.Note}}.</p>
{{if .R.Compare}}
<h2>Compare</h2>
{{if gt (len .R.Compare.Targets) 2}}<ul>{{range .R.Compare.Targets}}<li>{{.Label}} = {{.Path}}{{if ne .Label "A"}}: {{.Verdict}}{{end}}</li>
{{end}}</ul>{{else}}<p class="verdict">{{.R.Compare.Verdict}}</p>{{end}}
<div class="chart" data-chart="rounds"></div>
{{end}}
<h2>Runs</h2>
<table>
<tr><th>target</th><th>batch size</th><th>workers</th><th>cores</th><th>events/s</th><th>per core</th><th>MB/s</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th></th></tr>
{{range .R.Runs}}<tr><td>{{.Target}}</td><td>{{.BatchSize}}</td><td>{{.Workers}}</td><td>{{.Cores}}</td><td>{{num .EventsPerSec}}</td><td>{{num .EventsPerSecCPU}}</td><td>{{num .MBPerSec}}</td><td>{{dur .Latency.P50MS}}</td><td>{{dur .Latency.P90MS}}</td><td>{{dur .Latency.P99MS}}</td><td>{{dur .Latency.MaxMS}}</td><td>{{if .Partial}}PARTIAL{{end}}</td></tr>
{{end}}</table>
{{range $i, $r := .R.Runs}}
<section>
<h3>{{if $r.Target}}{{$r.Target}}: {{end}}batch size {{$r.BatchSize}}, workers {{$r.Workers}}{{if $r.Partial}} <span class="error">PARTIAL: {{$r.PartialNote}}</span>{{end}}</h3>
{{if $r.Events}}<div class="charts">
<div class="chart" data-chart="timeline" data-run="{{$i}}"></div>
<div class="chart" data-chart="histogram" data-run="{{$i}}"></div>
</div>{{end}}
</section>
{{end}}
<h2>Full report</h2>
<pre>{{.Text}}</pre>
<script>const WEIR_BENCH = {{.Data}};</script>
<script>{{.JS}}</script>
</body>
</html>
`))

const htmlStyle = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 28px; } h3 { font-size: 15px; }
.meta { color: #555; } .error { color: #b00020; } .verdict { font-weight: bold; font-size: 16px; }
table { border-collapse: collapse; } th, td { padding: 3px 10px; text-align: right; border-bottom: 1px solid #ddd; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.chart svg { background: #fafafa; border: 1px solid #ddd; }
pre { background: #f4f4f4; padding: 12px; overflow-x: auto; font-size: 12px; }
`

// htmlScript draws every div.chart as an SVG from WEIR_BENCH, then marks
// the div data-rendered="true" and counts the charts on the body
// (data-charts-rendered), which tests read from the DOM.
const htmlScript = `
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 560, H = 260, L = 70, R = 16, T = 28, B = 42;
  function el(name, attrs, parent, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function nice(max) {
    if (!(max > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(max))), m = max / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function fmt(v) {
    if (v >= 1e6) return (v / 1e6).toFixed(v >= 1e7 ? 0 : 1) + "M";
    if (v >= 1e3) return (v / 1e3).toFixed(v >= 1e4 ? 0 : 1) + "k";
    if (v >= 10) return v.toFixed(0);
    return +v.toPrecision(2) + "";
  }
  function frame(title, xlabel, ylabel, xmax, ymax) {
    var svg = el("svg", {width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img"});
    el("title", {}, svg, title);
    el("text", {x: L, y: 16, "font-size": 13, "font-weight": "bold"}, svg, title);
    var pw = W - L - R, ph = H - T - B;
    var sx = function (x) { return L + (xmax > 0 ? x / xmax : 0) * pw; };
    var sy = function (y) { return T + ph - (ymax > 0 ? y / ymax : 0) * ph; };
    for (var i = 0; i <= 4; i++) {
      var yv = ymax * i / 4, y = sy(yv);
      el("line", {x1: L, x2: W - R, y1: y, y2: y, stroke: "#e2e2e2"}, svg);
      el("text", {x: L - 6, y: y + 4, "font-size": 11, "text-anchor": "end"}, svg, fmt(yv));
      var xv = xmax * i / 4, x = sx(xv);
      el("text", {x: x, y: T + ph + 16, "font-size": 11, "text-anchor": "middle"}, svg, fmt(xv));
    }
    el("line", {x1: L, x2: L, y1: T, y2: T + ph, stroke: "#888"}, svg);
    el("line", {x1: L, x2: W - R, y1: T + ph, y2: T + ph, stroke: "#888"}, svg);
    el("text", {x: L + pw / 2, y: H - 6, "font-size": 11, "text-anchor": "middle"}, svg, xlabel);
    el("text", {x: 12, y: T + ph / 2, "font-size": 11, "text-anchor": "middle", transform: "rotate(-90 12 " + (T + ph / 2) + ")"}, svg, ylabel);
    return {svg: svg, sx: sx, sy: sy};
  }
  function lines(title, xlabel, ylabel, series) {
    var xmax = 0, ymax = 0;
    series.forEach(function (s) { s.points.forEach(function (p) { xmax = Math.max(xmax, p[0]); ymax = Math.max(ymax, p[1]); }); });
    var f = frame(title, xlabel, ylabel, xmax, nice(ymax * 1.05));
    series.forEach(function (s, si) {
      if (!s.points.length) return;
      var d = s.points.map(function (p, i) { return (i ? "L" : "M") + f.sx(p[0]).toFixed(1) + " " + f.sy(p[1]).toFixed(1); }).join(" ");
      el("path", {d: d, fill: "none", stroke: s.color, "stroke-width": 2, "class": "series"}, f.svg);
      s.points.forEach(function (p) {
        var c = el("circle", {cx: f.sx(p[0]), cy: f.sy(p[1]), r: 2.5, fill: s.color}, f.svg);
        el("title", {}, c, s.name + ": " + fmt(p[1]) + " at " + p[0].toFixed(2));
      });
      el("text", {x: W - R - 4, y: T + 14 + 14 * si, "font-size": 11, "text-anchor": "end", fill: s.color}, f.svg, s.name);
    });
    return f.svg;
  }
  function bars(title, xlabel, ylabel, bins) {
    var ymax = 0;
    bins.forEach(function (b) { ymax = Math.max(ymax, b.count); });
    var n = bins.length, f = frame(title, xlabel, ylabel, 0, nice(ymax));
    var pw = W - L - R, bw = pw / Math.max(n, 1);
    bins.forEach(function (b, i) {
      var x = L + i * bw, y = f.sy(b.count);
      var d = "M" + (x + 1).toFixed(1) + " " + f.sy(0).toFixed(1) + " V" + y.toFixed(1) + " H" + (x + bw - 1).toFixed(1) + " V" + f.sy(0).toFixed(1) + " Z";
      var p = el("path", {d: d, fill: "#3b78c2", "class": "bar"}, f.svg);
      el("title", {}, p, b.lo_ms.toPrecision(3) + "-" + b.hi_ms.toPrecision(3) + " ms: " + b.count + " batches");
    });
    var ticks = [0, Math.floor(n / 2), n - 1];
    // x labels: the bins are logarithmic, label a few bin edges in ms
    f.svg.querySelectorAll("text[text-anchor=middle]").forEach(function (t) {
      if (+t.getAttribute("y") === T + (H - T - B) + 16) t.remove();
    });
    ticks.forEach(function (i) {
      if (i < 0 || i >= n) return;
      el("text", {x: L + (i + 0.5) * bw, y: H - B + 16, "font-size": 11, "text-anchor": "middle"}, f.svg, bins[i].lo_ms.toPrecision(3));
    });
    return f.svg;
  }
  var data = WEIR_BENCH, drawn = 0;
  document.querySelectorAll("div.chart").forEach(function (div) {
    var kind = div.getAttribute("data-chart"), svg = null;
    var run = data.runs[+div.getAttribute("data-run")];
    if (kind === "timeline" && run) {
      svg = lines("throughput over time", "seconds since the start of the measurement", "events/s",
        [{name: "events/s", color: "#3b78c2", points: (run.timeline || []).map(function (p) { return [p.t, p.events_per_sec]; })}]);
    } else if (kind === "histogram" && run) {
      svg = bars("batch latency (" + run.batches + " batches)", "ms (logarithmic bins)", "batches", run.histogram || []);
    } else if (kind === "rounds" && data.compare) {
      var rounds = data.compare.per_round || [], colors = ["#3b78c2", "#d9822b", "#3a9e5c", "#b8413c", "#7b5cb8", "#8c6d31", "#d45fa8", "#555555"];
      var targets = data.compare.targets || [{label: "A", path: data.compare.a}, {label: "B", path: data.compare.b}];
      svg = lines("events/s per round", "round", "events/s", targets.map(function (t, k) {
        return {name: t.label + " " + t.path, color: colors[k % colors.length], points: rounds.map(function (r, i) {
          return [i + 1, r.events_per_sec ? r.events_per_sec[k] : (k === 0 ? r.a_events_per_sec : r.b_events_per_sec)];
        })};
      }));
    }
    if (svg) {
      div.appendChild(svg);
      div.setAttribute("data-rendered", "true");
      drawn++;
    }
  });
  document.body.setAttribute("data-charts-rendered", String(drawn));
})();
`
