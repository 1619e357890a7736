/* Small SVG writer for the pictures dnacl produces (learning curves, sweep summaries, ISM
 * heatmaps, logos): a document is built in memory and written in one go to PATH.tmp, then
 * renamed to PATH, so a reader never finds half a picture. Text is escaped for XML (and
 * invalid UTF-8 replaced), numbers are written in the C locale with fixed precision, and
 * non-finite coordinates are never written, so the output is always well-formed XML that
 * renders in browsers, rsvg-convert and Inkscape without fonts or scripts. */
#ifndef DNACL_SVG_H
#define DNACL_SVG_H
#include <stddef.h>

#include "runtime/runtime.h"

typedef struct dnacl_svg {
  char *buf;
  size_t len, cap;
  int oom;        /* an allocation failed; sticky, reported by dnacl_svg_save */
  int closed;     /* </svg> written */
  int next_id;    /* for unique element ids (clip paths) */
  double width, height;
} dnacl_svg;

/* Start a width x height document (user units = pixels) with a white background and a
 * sans-serif default font. */
dnacl_status dnacl_svg_begin(dnacl_svg *s, double width, double height);
/* Close the document (if not yet closed) and write it atomically to path. s stays valid
 * and must still be freed. */
dnacl_status dnacl_svg_save(dnacl_svg *s, const char *path);
void dnacl_svg_free(dnacl_svg *s);

/* Append raw markup (the caller is responsible for it being well-formed; use %s only for
 * trusted strings and dnacl_svg_escaped for anything else). */
void dnacl_svg_printf(dnacl_svg *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append text escaped for element content or a quoted attribute value: & < > " ' become
 * entities, control characters become spaces, and bytes that are not valid UTF-8 become
 * '?', since any of those would make the document unreadable. */
void dnacl_svg_escaped(dnacl_svg *s, const char *text);

/* Shapes. Colours are CSS colours (escaped). Coordinates that are not finite make the call
 * write nothing. */
void dnacl_svg_line(dnacl_svg *s, double x1, double y1, double x2, double y2, const char *color,
                    double width);
/* fill or stroke NULL means "none". */
void dnacl_svg_rect(dnacl_svg *s, double x, double y, double w, double h, const char *fill,
                    const char *stroke);
/* anchor: "start", "middle" or "end"; rotate: degrees about (x, y), 0 for none;
 * bold: font-weight bold. y is the text baseline. */
void dnacl_svg_text(dnacl_svg *s, double x, double y, double size, const char *anchor,
                    double rotate, int bold, const char *color, const char *text);

/* The i-th colour of a 10-colour categorical palette (matplotlib's tab10), cycling. */
const char *dnacl_svg_palette(int i);

/* ---- axes ----------------------------------------------------------------------------- */

/* Nice axis ticks: a step of 1, 2, 2.5 or 5 times a power of ten giving at most about
 * max_ticks ticks over [lo, hi]. *first is the first multiple of step >= lo (within
 * rounding). Returns the number of ticks in [lo, hi] (0 if the range is empty or not
 * finite). */
int dnacl_nice_ticks(double lo, double hi, int max_ticks, double *first, double *step);
/* Widen [*lo, *hi] outwards to multiples of the nice step for max_ticks; an empty range is
 * first widened around its value, a non-finite one becomes [0, 1]. */
void dnacl_nice_range(double *lo, double *hi, int max_ticks);
/* Format tick value v on an axis of the given step: as many decimals as the step needs
 * ("0.25", "1000"), no "-0", and %g form for very large or small magnitudes. */
void dnacl_svg_format_tick(double v, double step, char *buf, size_t cap);

/* ---- line chart --------------------------------------------------------------------- */

typedef struct dnacl_series {
  const char *name;    /* legend entry; NULL or "" leaves the series out of the legend */
  const char *color;   /* NULL: the palette colour of the series' index */
  const double *x;     /* NULL: 0, 1, ..., n-1 */
  const double *y;
  size_t n;
  int dashed;
  double marker;       /* dot radius at each point, 0 for none; a series with a single
                        * finite point always gets a dot, or it would be invisible */
} dnacl_series;

typedef enum dnacl_legend_pos {
  DNACL_LEGEND_AUTO = 0,   /* the inside corner covering the fewest data */
  DNACL_LEGEND_NONE,
  DNACL_LEGEND_TOP_RIGHT,
  DNACL_LEGEND_BOTTOM_RIGHT,
  DNACL_LEGEND_TOP_LEFT,
  DNACL_LEGEND_BOTTOM_LEFT
} dnacl_legend_pos;

typedef struct dnacl_chart {
  double x, y, width, height;     /* the panel's box: title, labels and ticks included */
  const char *title, *xlabel, *ylabel;
  double xmin, xmax, ymin, ymax;  /* NaN: from the data, widened to nice ticks */
  dnacl_legend_pos legend;
} dnacl_chart;

/* A chart filling the given box, automatic ranges, automatic legend, no labels. */
dnacl_chart dnacl_chart_box(double x, double y, double width, double height);

/* Draw a line chart: frame, grid, tick labels, axis labels, title, one polyline per series
 * (clipped to the plot area) and a legend. Non-finite points are skipped and the line
 * joins the finite points on either side, so series sampled at different steps (NaN where
 * not evaluated) still draw as lines. */
void dnacl_svg_line_chart(dnacl_svg *s, const dnacl_chart *c, const dnacl_series *series,
                          int n_series);

#endif
