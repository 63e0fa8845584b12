#include "file_scan.hpp"
