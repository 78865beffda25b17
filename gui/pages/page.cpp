#include "gui/pages/page.h"
