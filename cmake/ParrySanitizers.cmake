# -DPARRY_SANITIZE=ON builds everything with ASan+UBSan; UBSan findings abort so
# that ctest sees them as failures rather than lines in a log nobody reads.
if(PARRY_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()
