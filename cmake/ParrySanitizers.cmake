# -DPARRY_SANITIZE=ON builds everything with ASan+UBSan; UBSan findings abort so
# that ctest sees them as failures rather than lines in a log nobody reads.
if(PARRY_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()

# With fuzz targets in the build, instrument every library for coverage so the
# fuzzer sees inside the code it drives, not just the target file.
if(PARRY_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
