// Work in progress.
#include "exec/kernels.h"
