#ifndef TICKBUS_CZLIB_SHIM_H
#define TICKBUS_CZLIB_SHIM_H
#include <zlib.h>
#endif
