/* timeutil.c: durations, RFC 3339 and the clock (see timeutil.h). */
#include "common/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_offset;
static int clock_offset_loaded;

int cut_duration_parse(const char *s, double *secs_r)
{
	double v, mult = 1;
	char *end;

	if (s == NULL || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || !isfinite(v) || v < 0)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 's':
		end++;
		break;
	case 'm':
		mult = 60;
		end++;
		break;
	case 'h':
		mult = 3600;
		end++;
		break;
	case 'd':
		mult = 86400;
		end++;
		break;
	case 'w':
		mult = 7 * 86400;
		end++;
		break;
	default:
		return -1;
	}
	if (*end != '\0')
		return -1;
	v *= mult;
	if (v > 100.0 * 365 * 86400)
		return -1;
	*secs_r = v;
	return 0;
}

void cut_duration_format(double secs, char *buf, size_t n)
{
	long long t;
	int neg = secs < 0;

	if (neg)
		secs = -secs;
	t = (long long)(secs + 0.5);
	if (t < 60)
		snprintf(buf, n, "%s%llds", neg ? "-" : "", t);
	else if (t < 3600)
		snprintf(buf, n, "%s%lldm%02llds", neg ? "-" : "", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, n, "%s%lldh%02lldm%02llds", neg ? "-" : "", t / 3600,
			 (t / 60) % 60, t % 60);
	else
		snprintf(buf, n, "%s%lldd%02lldh%02lldm", neg ? "-" : "", t / 86400,
			 (t / 3600) % 24, (t / 60) % 60);
}

static int parse_digits(const char **p, int count, int *val_r)
{
	int v = 0;

	for (int i = 0; i < count; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += count;
	*val_r = v;
	return 0;
}

int cut_time_parse_rfc3339(const char *s, double *epoch_r)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int year, mon, day, hour, min, sec, off = 0;
	double frac = 0;
	struct tm tm;
	const char *p = s;
	time_t t;

	if (s == NULL)
		return -1;
	if (parse_digits(&p, 4, &year) < 0 || *p++ != '-' ||
	    parse_digits(&p, 2, &mon) < 0 || *p++ != '-' ||
	    parse_digits(&p, 2, &day) < 0)
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (parse_digits(&p, 2, &hour) < 0 || *p++ != ':' ||
	    parse_digits(&p, 2, &min) < 0 || *p++ != ':' ||
	    parse_digits(&p, 2, &sec) < 0)
		return -1;
	if (*p == '.') {
		double scale = 0.1;
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			frac += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;
		p++;
		if (parse_digits(&p, 2, &oh) < 0 || *p++ != ':' ||
		    parse_digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
			return -1;
		off = sign * (oh * 3600 + om * 60);
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	if (mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1] ||
	    hour > 23 || min > 59 || sec > 60)
		return -1;
	if (mon == 2 && day == 29 &&
	    !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*epoch_r = (double)t - off + frac;
	return 0;
}

void cut_time_format_rfc3339(double epoch, char *buf, size_t n)
{
	time_t t = (time_t)floor(epoch);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

double cut_now(void)
{
	struct timespec ts;

	if (!clock_offset_loaded) {
#ifdef CUTOVER_DEBUG_HOOKS
		const char *e = getenv("CUTOVER_TEST_CLOCK_OFFSET");
		if (e != NULL)
			clock_offset = strtod(e, NULL);
#endif
		clock_offset_loaded = 1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9 + clock_offset;
}

double cut_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void cut_clock_set_offset(double offset)
{
	clock_offset = offset;
	clock_offset_loaded = 1;
}

int cut_sleep(double secs)
{
	struct timespec ts;

	if (secs <= 0)
		return 0;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	return nanosleep(&ts, NULL) == 0 ? 0 : -1;
}
