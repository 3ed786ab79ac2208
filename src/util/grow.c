/*
 * src/util/grow.c — slip__grow() (src/util/grow.h).
 */
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <slipstream/common.h>

int slip__grow(void *arr_ptr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap == 0 ? 16 : *cap;
	void *arr, *p;

	if (need <= *cap)
		return SLIP_OK;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return SLIP_ENOMEM;
		ncap *= 2;
	}
	if (elem != 0 && ncap > SIZE_MAX / elem)
		return SLIP_ENOMEM;
	/* The caller's pointer has its own type: read and write it as bytes. */
	memcpy(&arr, arr_ptr, sizeof(arr));
	p = realloc(arr, ncap * elem);
	if (p == NULL)
		return SLIP_ENOMEM;
	memcpy(arr_ptr, &p, sizeof(p));
	*cap = ncap;
	return SLIP_OK;
}
