shell.tpl: the page shell, what every page shares, written once. The
daemon fills in a page's markers when it loads the page (lib/webfiles.h):
<!--alliance:NAME--> gets the part NAME, <!--alliance:NAME:FILE--> the
part with its link to FILE marked aria-current="page". A part runs from
its part: comment to the next; this text before the first is not used.
Parts hold markers of other parts, filled in the same way; links here
are relative to the web root (a page in a folder gets them with "../").
The markers of lib/pages.h (style, banner) stay for the daemon's
rendering of index.html and bulletins.html; elsewhere they are comments.

A resident page (web/*.html) is
  <!--alliance:resident-head-->  its <meta name="alliance-title">,
                                  <title>, style sheets and scripts
  <!--alliance:resident-body:FILE-->  its content (FILE: its nav link)
  <!--alliance:end-->
and a console (web/district/, web/manage/) is the same with
console-head and <!--alliance:console-body-->BRAND<!--/alliance:console-body-->,
BRAND being the header's name of the console.
<!--part:doc-->
<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="img/favicon.svg" type="image/svg+xml">
<!--part:site-css-->
<link rel="stylesheet" href="css/site.css">
<!--part:scripts-->
<script src="js/i18n.js" defer></script>
<script src="js/common.js" defer></script>
<!--part:resident-head-->
<!--alliance:doc-->
<!--alliance:style--><!--alliance:site-css--><link rel="stylesheet" href="css/resident.css"><!--/alliance:style-->
<!--alliance:scripts-->
<script src="js/resident-i18n.js" defer></script>
<script src="js/resident.js" defer></script>
<!--part:console-head-->
<!--alliance:doc-->
<meta name="robots" content="noindex">
<!--alliance:site-css-->
<link rel="stylesheet" href="css/console.css">
<!--alliance:scripts-->
<!--part:body-->
</head>
<body>
<a class="skip" href="#main" data-i18n="skip">跳到正文</a>
<!--part:toggles-->
      <button type="button" class="tool" id="lang-toggle" lang="en" aria-label="Switch to English" data-i18n-attr="aria-label:lang_switch_label"><span data-i18n="lang_switch">English</span></button>
      <button type="button" class="tool" id="size-toggle" aria-pressed="false"><span data-i18n="size_switch">大字</span></button>
<!--part:main-->
<main id="main" tabindex="-1">
<!--part:resident-body-->
<!--alliance:body-->
<section id="alerts" class="alerts" aria-label="紧急通告" data-i18n-attr="aria-label:alerts_label"><!--alliance:banner--></section>
<header class="site-header">
  <div class="wrap bar">
    <a class="brand" href="index.html"><svg class="icon" aria-hidden="true" focusable="false"><use href="img/icons.svg#home"/></svg><span data-i18n="site">社区服务</span><span class="site-community" id="site-community"></span></a>
    <div class="tools">
      <a class="tool" id="account-link" href="account.html"><svg class="icon" aria-hidden="true" focusable="false"><use href="img/icons.svg#person"/></svg><span data-i18n="nav_account">登录</span></a>
<!--alliance:toggles-->
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
<!--alliance:main-->
<!--part:console-body-->
<!--alliance:body-->
<header class="site-header">
  <div class="wrap bar">
    <span class="brand"><svg class="icon" aria-hidden="true" focusable="false"><use href="img/icons.svg#home"/></svg><!--alliance:inner--></span>
    <div class="tools">
<!--alliance:toggles-->
    </div>
  </div>
</header>
<!--alliance:main-->
<!--part:manager-login-->
    <p id="status" class="console-status" role="status" aria-live="polite"></p>

    <section id="login" class="section login" aria-labelledby="h-login" hidden>
      <h1 id="h-login" data-i18n="login_heading">管理员登录</h1>
      <p data-i18n="login_intro">请输入本社区的管理密码。连续输错多次后需要等一分钟。</p>
      <form id="login-form" class="stack" novalidate>
        <div class="field">
          <label for="password" data-i18n="password">密码</label>
          <input type="password" id="password" name="password" autocomplete="current-password" required maxlength="1024" aria-describedby="login-error">
        </div>
        <p id="login-error" class="note error" role="alert"></p>
        <div class="actions"><button type="submit" class="primary" data-i18n="login_button">登录</button></div>
      </form>
    </section>
<!--part:manager-nav-->
      <nav class="console-nav" aria-label="管理后台的页面" data-i18n-attr="aria-label:mn_label">
        <ul>
          <li><a href="manage/index.html" data-i18n="mn_home">服务与申请</a></li>
          <li><a href="manage/polls.html" data-i18n="mn_polls">投票与居民账户</a></li>
          <li><a href="manage/checkin.html" data-i18n="mn_checkin">安全确认</a></li>
          <li><a href="manage/outbox.html" data-i18n="mn_outbox">消息推送</a></li>
        </ul>
      </nav>
<!--part:end-->
</main>
<footer class="site-footer">
  <div class="wrap"><p data-i18n="footer">社区服务联盟 · 各社区共同提供</p></div>
</footer>
</body>
</html>
