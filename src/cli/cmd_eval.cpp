// Work in progress.
#include "cli/commands.h"
