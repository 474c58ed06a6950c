/**
 * Cloudflare Access, played locally: a signing key the tests hold (made once for these
 * tests, and nothing else) and its public half, which the tests' network serves as the
 * team's keys at https://{ACCESS_TEST_TEAM}/cdn-cgi/access/certs (test-network.ts).
 */
export const ACCESS_TEST_TEAM = "impgate-test.cloudflareaccess.com";
export const ACCESS_TEST_AUD = "3f1c0a1e0e5b4c2a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c";

export const ACCESS_TEST_PRIVATE_JWK = {
  kty: "RSA",
  n: "7f9WVbli3i_RdDzCRyNIrTCfnP524dTSvenQqNeyP7t-LJR_0mBlWTzq_9l1YqWy7m1ZL1zEPqV_5LJEljaWfqKpF5hDVdILWSyykZH1iPbP3ljRVAcgpKhSB7IPXTJe3QnGdOVadBi17Yp95J3giPO4yZ41scsg_MpGgJdYBPAF8L_H2-AMi8aDe4Z3MWKk25Vq294N_FaJy-Hb9lT6ZwyOXwvu92dTUEdnFEt8YSty7XEgpkjAEd_rgp9SBBwS-qaE-pCm-8nIAG5nv3oRlH1JWBEs93gcreojFVJ18Uz8TLb3q_BmKshD3n5hMd02nDNOSv0zP860eM3YhDnwEQ",
  e: "AQAB",
  d: "IsdibWqG6SMhv5O1bEHat_xYBtAkvUGlfj0x0cqbcLbMbGVS_II7rTu6t6KmhcDjEfaGxuYOg30Z4Giwnybg_SZ2AU2t4Vetct2WRrGGqPowTDS8ekQEYCt8uUUq-5qFxFVOW_y8KCUISOspFISBsGG1SjlFbXLaojZI8TeslCPbBgFqb70WLwFim6-MHfrKbIuW7r8rnvnRBtbPrL9MVBQwH55K29ZiA8aUkNtaTLPVIZhu5MsMhX3M8TOy8kchFC0TJvAthLliCX5f_aP5TQxVje3Fh4GicXz09IMrWvTwv7PFGbls8xMaxke-O8EELQG-_REJC9yvselqGrVSxQ",
  p: "98AZb-rmS0RdjjBLoTkFvJX6JBwwfU2ss_czrwnbJNmZZ48u1NmC7k9DhuiI537rUJUIMW2I8tFSvl_d7aT70fIkY8dTCsLWF7PMiND_UwzYkQNRN-ND_eDRFWi8Ik8229bmP70_bhIxNqT8FHB5hqe1vZZDNCB4D52KyMPS2v8",
  q: "9ewZumnB-Fd8lr7WA0qWy5SzzWi4YZsICMMRtPfWUgcB3IhSOSXMSZLy61UrCn9X5vcKpGV4ot6Z_taOR2w_rghsjJqSoOBQxXkub0bn1XbW7lHvNHoLEDPyamrMs1NiIUxlRCzaVItRGfcEEE3TbG7CQ2fgCAbHszHkrMqMhO8",
  dp: "WzgNpZl1hYz8bVf24LugExmdaiI-8EPjLLf9_ZrBZ0X_J5QeiBw2CwyALnH7xlCCz76vr5NG8zCDKLkfe1pdpaVkJKDFQJcQQNXgnxdkiu2V536zLsKszBM0qI9RhchoyHTNffZuHlbwa9A_SD9JX3zse4uR3uV9jzJQYS9IuX0",
  dq: "8y3jSyjlPFQWyWIwctTBRNLo8cgJ-8q4KSHsUo15C2gOeSr8U7KCzoZXXEq94wWFwMitZ19H6ZZBpXQ5AXuThN6jqG35bMgkVwG73yG4gqefZc7zwWqlogIcRwsRHIrp0I-g28eWpl-VdR2EkTLETMdBpjIDoSxDMXm27P7l8VU",
  qi: "QgtEh5I35mZNW_YS_ShI7bowWiyyxjO2sUydy05xROXfo8h999-ScaDstoYFRmdJO1Wp8dusYSY6CRDGVeH1lneH5CdZM8iaMVQp-SRkB9UBaEEgwtxsKXSt9RunlcG0kIUO2QYaTghyoi7JRjMO1fMkb8z6BUiFJNAAMBW6tvM",
  kid: "test-access-1",
  alg: "RS256",
};

export const ACCESS_TEST_PUBLIC_JWK = {
  kty: "RSA",
  n: "7f9WVbli3i_RdDzCRyNIrTCfnP524dTSvenQqNeyP7t-LJR_0mBlWTzq_9l1YqWy7m1ZL1zEPqV_5LJEljaWfqKpF5hDVdILWSyykZH1iPbP3ljRVAcgpKhSB7IPXTJe3QnGdOVadBi17Yp95J3giPO4yZ41scsg_MpGgJdYBPAF8L_H2-AMi8aDe4Z3MWKk25Vq294N_FaJy-Hb9lT6ZwyOXwvu92dTUEdnFEt8YSty7XEgpkjAEd_rgp9SBBwS-qaE-pCm-8nIAG5nv3oRlH1JWBEs93gcreojFVJ18Uz8TLb3q_BmKshD3n5hMd02nDNOSv0zP860eM3YhDnwEQ",
  e: "AQAB",
  kid: "test-access-1",
  alg: "RS256",
  use: "sig",
};
