#ifndef TICKBUS_CZEROMQ_SHIM_H
#define TICKBUS_CZEROMQ_SHIM_H
#include <zmq.h>
#include <errno.h>

/* ETERM and EFSM are expression macros that Swift does not import. */
static inline int czmq_eterm(void) { return ETERM; }
static inline int czmq_efsm(void) { return EFSM; }
static inline int czmq_ehostunreach(void) { return EHOSTUNREACH; }
#endif
