/* JSON output: strings escaped per RFC 8259 (bytes that are not UTF-8
 * become U+FFFD, so the output always parses), numbers in their shortest
 * round-tripping form, null for what is not a number. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes), else 0. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  size_t len;
  unsigned min;
  unsigned cp;
  if (s[0] < 0x80) return 1;
  if ((s[0] & 0xe0) == 0xc0) len = 2, min = 0x80, cp = s[0] & 0x1f;
  else if ((s[0] & 0xf0) == 0xe0) len = 3, min = 0x800, cp = s[0] & 0x0f;
  else if ((s[0] & 0xf8) == 0xf0) len = 4, min = 0x10000, cp = s[0] & 0x07;
  else return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

void report_json_str(FILE *o, const char *str) {
  const unsigned char *s = (const unsigned char *)str;
  size_t n = strlen(str);
  fputc('"', o);
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    if (c == '"' || c == '\\') {
      fputc('\\', o);
      fputc(c, o);
      i++;
    } else if (c < 0x20) {
      fprintf(o, "\\u%04x", c);
      i++;
    } else {
      size_t len = utf8_len(s + i, n - i);
      if (len == 0) {
        fputs("\\ufffd", o);
        i++;
      } else {
        fwrite(s + i, 1, len, o);
        i += len;
      }
    }
  }
  fputc('"', o);
}

void report_json_num(FILE *o, double v) {
  if (!isfinite(v)) {
    fputs("null", o);
    return;
  }
  char b[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(b, sizeof b, "%.*g", prec, v);
    if (strtod(b, NULL) == v) break;
  }
  fputs(b, o);
}

void report_json_key(FILE *o, const char *key) {
  report_json_str(o, key);
  fputc(':', o);
}
