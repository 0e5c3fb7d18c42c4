shell.tpl: what every resident page (web/*.html) shares, written once.
The daemon puts each part where a page has its marker when it loads the
page (lib/webfiles.h): the part "head" at the marker alliance:head, the
part "header" (header and navigation) at alliance:header:PAGE, with the
link to PAGE marked aria-current="page" (alliance:header alone: none
marked), the part "footer" at alliance:footer. A part runs from its
part: comment to the next; this text before the first is not used.
<!--part:head-->
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<!--part:header-->
<header class="site-header">
  <div class="wrap bar">
    <a class="brand" href="index.html"><svg class="icon" aria-hidden="true" focusable="false"><use href="img/icons.svg#home"/></svg><span data-i18n="site">社区服务</span><span class="site-community" id="site-community"></span></a>
    <div class="tools">
      <a class="tool" id="account-link" href="account.html"><svg class="icon" aria-hidden="true" focusable="false"><use href="img/icons.svg#person"/></svg><span data-i18n="nav_account">登录</span></a>
      <button type="button" class="tool" id="lang-toggle" lang="en" aria-label="Switch to English" data-i18n-attr="aria-label:lang_switch_label"><span data-i18n="lang_switch">English</span></button>
      <button type="button" class="tool" id="size-toggle" aria-pressed="false"><span data-i18n="size_switch">大字</span></button>
    </div>
  </div>
  <nav class="site-nav" aria-label="主导航" data-i18n-attr="aria-label:nav_label">
    <ul class="wrap">
      <li><a href="index.html"><svg class="icon" aria-hidden="true" focusable="false"><use href="img/icons.svg#home"/></svg><span data-i18n="nav_home">首页</span></a></li>
      <li><a href="catalog.html"><svg class="icon" aria-hidden="true" focusable="false"><use href="img/icons.svg#list"/></svg><span data-i18n="nav_catalog">找服务</span></a></li>
      <li><a href="polls.html"><svg class="icon" aria-hidden="true" focusable="false"><use href="img/icons.svg#vote"/></svg><span data-i18n="nav_polls">投票</span></a></li>
      <li><a href="my-requests.html"><svg class="icon" aria-hidden="true" focusable="false"><use href="img/icons.svg#inbox"/></svg><span data-i18n="nav_my_requests">我的申请</span></a></li>
      <li><a href="announcements.html"><svg class="icon" aria-hidden="true" focusable="false"><use href="img/icons.svg#megaphone"/></svg><span data-i18n="nav_announcements">通知公告</span></a></li>
      <li><a href="bulletins.html"><svg class="icon" aria-hidden="true" focusable="false"><use href="img/icons.svg#warning"/></svg><span data-i18n="nav_bulletins">紧急通告</span></a></li>
    </ul>
  </nav>
</header>
<!--part:footer-->
<footer class="site-footer">
  <div class="wrap"><p data-i18n="footer">社区服务联盟 · 各社区共同提供</p></div>
</footer>
