/*
 * fault.h: named crash points for the fault-injection tests.  Compiled in
 * only when COFFRE_FAULTS is defined (the test build); in the release build
 * FAULT_POINT() is nothing at all.  With COFFRE_FAULTS, setting the
 * environment variable COFFRE_CRASH_AT to a point's name makes the process
 * die there with _exit(86), as a power cut would, without flushing anything.
 */
#ifndef COFFRE_FAULT_H
#define COFFRE_FAULT_H

#ifdef COFFRE_FAULTS
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define FAULT_POINT(name)                                                      \
	do {                                                                   \
		const char *fault_at_ = getenv("COFFRE_CRASH_AT");             \
		if (fault_at_ != NULL && strcmp(fault_at_, (name)) == 0)       \
			_exit(86);                                             \
	} while (0)
#else
#define FAULT_POINT(name)                                                      \
	do {                                                                   \
	} while (0)
#endif

#endif /* !COFFRE_FAULT_H */
